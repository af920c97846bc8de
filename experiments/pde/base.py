"""The settings of the PDE study and the Eulerian solver run that every stage uses."""

from __future__ import annotations

import dataclasses
import math
import time

import jax
import numpy as np

import mfbd
import mfbd.pde as pde

ALPHA = 5.0
LOWER, UPPER = (-4.0, -5.0), (4.0, 5.0)  # y ∈ [-4, 4], c ∈ [-5, 5]
BASE_SHAPE = (40, 50)  # h = 0.2 on both axes; level k has 2^k times as many cells per axis
PARTICLE_DT = 0.01
RECORD_DT = 0.05  # particle and PDE records every 0.05 in mean-field time
TIMES = (0.1, 0.25, 0.5)  # times of the particle comparison
COARSE_BINS = (16, 20)  # 0.5 × 0.5 bins for the histogram comparison
SCHEMES = ("GD", "GD+BD", "reweighting")


@dataclasses.dataclass(frozen=True)
class Sizes:
    """How large the study is: grid levels and horizon of (a), n and seeds of (b), the checks' sizes."""

    levels: tuple[int, ...]
    t_grid: float
    ns: tuple[int, ...]
    seeds: tuple[int, ...]
    dt_n: int
    kl_t: float
    check_n: int
    check_seeds: int


FULL = Sizes(
    levels=(0, 1, 2, 3),
    t_grid=2.0,
    ns=(50, 100, 200, 500, 1000, 2000, 5000),
    seeds=(64, 64, 64, 32, 16, 16, 8),
    dt_n=1000,
    kl_t=200.0,
    check_n=1000,
    check_seeds=128,
)
#: ``--smoke``: the smoke version (seconds per stage).
SMOKE = Sizes(
    levels=(0, 1, 2), t_grid=1.0, ns=(50, 100, 200), seeds=(8, 8, 8), dt_n=100, kl_t=20.0, check_n=100, check_seeds=16
)


def grid_at(level: int) -> pde.Grid:
    """The study's box with ``BASE_SHAPE · 2^level`` cells."""
    return pde.Grid(("y", "c"), LOWER, UPPER, tuple(b * 2**level for b in BASE_SHAPE))


def limiter_name(limiter) -> str:
    return limiter or "upwind"


def pde_trajectory(
    problem, grid, alpha, limiter, t_end, *, cfl=0.5, record=None, observe=None, transport=True, dt=None
):
    """E(t) on ``grid`` from the good start, recorded every ``record`` (default: every step) up to ``t_end``.

    Δt = 0.05/⌈0.05/Δt_max⌉ unless given, so that the times 0.05, 0.1, … fall on steps.
    Returns ``(dt, times, energies, trace, final state, wall seconds)`` with t = 0 included.
    """
    if dt is None:
        dt = RECORD_DT / math.ceil(RECORD_DT / pde.max_dt(problem, grid, cfl=cfl, oracle="factorised"))
    every = 1 if record is None else round(record / dt)
    options = dict(limiter=limiter, cfl=cfl, oracle="factorised", transport=transport)
    scheme = pde.eulerian_scheme(problem, grid, dt, alpha, **options)
    state = scheme.init(pde.start_density(grid, "good"))
    e0 = float(state.energy)
    start = time.perf_counter()
    state, trace = mfbd.simulate(
        jax.random.key(0), scheme, state, every * round(t_end / (every * dt)), record_every=every, observe=observe
    )
    jax.block_until_ready(trace)
    wall = time.perf_counter() - start
    trace = {k: np.asarray(v) for k, v in trace.items()}
    times = np.concatenate([[0.0], trace["time"]])
    return dt, times, np.concatenate([[e0], trace["energy"]]), trace, state, wall
