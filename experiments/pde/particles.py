"""(b) Particles → PDE: GD, GD+BD (scheme A) and reweighting (scheme B) against the Eulerian reference.

For n = 50 … 5000, seeds vmapped through ``run_chunk``: mean |E_n(t) - E_PDE(t)| and the bias E[E_n(t)] - E_PDE(t)
with standard errors (the control-variate estimate is added in :mod:`experiments.pde.bias`), and the L1 distance
between the particle histogram and the PDE density.
"""

from __future__ import annotations

import math
import time

import jax
import jax.numpy as jnp
import numpy as np

import mfbd
import mfbd.pde as pde
from experiments.common import write_rows
from experiments.pde.base import (
    ALPHA,
    COARSE_BINS,
    LOWER,
    PARTICLE_DT,
    RECORD_DT,
    SCHEMES,
    TIMES,
    UPPER,
    grid_at,
    pde_trajectory,
)
from experiments.pde.bias import control_variate_bias, initial_bias
from mfbd.simulate import init_ensemble, run_chunk, state_energy


def particle_schemes(problem, dt):
    return {
        "GD": mfbd.gradient_flow(problem, dt),
        "GD+BD": mfbd.birth_death(problem, dt, ALPHA),
        "reweighting": mfbd.reweighting(problem, dt, ALPHA),
    }


def run_particles(problem, scheme, n, seeds, num_records, record_every, observe, seed_offset=0):
    """``seeds`` runs of n float32 particles from the good start, vmapped over seeds (compiled ahead of timing).

    Seeds ``seed_offset + 0 … seeds - 1``, started by :func:`mfbd.simulate.init_ensemble` (the runner's seeding).
    Returns (E at t = 0 per seed, final states, trace, run seconds, compile seconds).
    """
    states, keys = init_ensemble(scheme, problem, n, range(seed_offset, seed_offset + seeds), jnp.float32)
    start = time.perf_counter()
    run = run_chunk(scheme, num_records, record_every, observe, seeds=True).lower(keys, states).compile()
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    final, trace = run(keys, states)
    jax.block_until_ready(trace)
    wall = time.perf_counter() - start
    trace = {k: np.asarray(v, np.float64) for k, v in trace.items()}
    return np.asarray(states.energy, np.float64), final, trace, wall, compile_s


def iid_l1(p, n, rng, draws=400):
    """Mean L1 distance between the histogram of n iid draws from p and p (Monte Carlo)."""
    return float(np.mean(np.abs(rng.multinomial(n, p / p.sum(), size=draws) / n - p).sum(axis=1)))


def coarse_masses(density, grid, bins):
    """Cell masses of a fine-grid density summed into ``bins`` blocks."""
    w = np.asarray(density) * grid.cell_area
    by, bc = grid.shape[0] // bins[0], grid.shape[1] // bins[1]
    return w.reshape(bins[0], by, bins[1], bc).sum(axis=(1, 3))


def reference_runs(problem, ref_level, t_end, out):
    """The van Leer reference for α = 0 and α = 5: ``{alpha: (E at the records, coarse cell masses at t_end)}``."""
    ref_grid = grid_at(ref_level)
    reference, ref_rows = {}, []
    for alpha in (0.0, ALPHA):
        dt, times, energy, _, state, wall = pde_trajectory(
            problem, ref_grid, alpha, "van_leer", t_end, record=RECORD_DT
        )
        reference[alpha] = (energy, coarse_masses(state.density, ref_grid, COARSE_BINS))
        ref_rows += [dict(alpha=alpha, t=t, E=e, dt=dt) for t, e in zip(times, energy, strict=True)]
        print(f"  reference PDE α={alpha:g} {ref_grid.shape} dt={dt:.5f} wall={wall:.1f}s", flush=True)
    write_rows(out / "pde_reference.csv", ref_rows)
    return reference


def error_row(name, n, seeds, t, err, e_pde, wall, compile_s):
    """The gap statistics of one (scheme, n, t) from the per-seed errors ``err`` = E_n(t) - E_PDE(t)."""
    return dict(
        scheme=name,
        n=n,
        seeds=seeds,
        t=t,
        E_pde=e_pde,
        mean_E_n=float(np.mean(err + e_pde)),
        mean_abs_error=np.abs(err).mean(),
        se_abs_error=np.abs(err).std(ddof=1) / math.sqrt(seeds),
        bias=err.mean(),
        se_bias=err.std(ddof=1) / math.sqrt(seeds),
        initial_bias=initial_bias(n),
        wall_s=wall,
        compile_s=compile_s,
    )


def particle_study(problem, ns, seeds_for, t_end, ref_level, out):
    """particle_errors.csv, histogram_l1.csv, densities.csv (and pde_reference.csv) for every scheme and n."""
    num_records = round(t_end / RECORD_DT)
    record_every = round(RECORD_DT / PARTICLE_DT)
    reference = reference_runs(problem, ref_level, t_end, out)
    coarse = pde.Grid(("y", "c"), LOWER, UPPER, COARSE_BINS)
    observe = state_energy(problem, "E")  # E of the particle measure after each step
    rng = np.random.default_rng(0)
    rows, l1_rows, raw = [], [], {}
    y_bins, c_bins = np.meshgrid(*coarse.axes(), indexing="ij")
    density_rows = {"y": y_bins.ravel(), "c": c_bins.ravel()}
    for alpha in (0.0, ALPHA):
        density_rows[f"PDE alpha={alpha:g}"] = reference[alpha][1].ravel()
    for name, scheme in particle_schemes(problem, PARTICLE_DT).items():
        energy_ref, masses_ref = reference[0.0 if name == "GD" else ALPHA]
        for n in ns:
            seeds = seeds_for[n]
            e0, final, trace, wall, compile_s = run_particles(
                problem, scheme, n, seeds, num_records, record_every, observe
            )
            errors = trace["E"] - energy_ref[None, 1:]  # [seeds, records]; records at t = 0.05, 0.1, …
            for t in TIMES:
                k = round(t / RECORD_DT)
                rows.append(error_row(name, n, seeds, t, errors[:, k - 1], energy_ref[k], wall, compile_s))
                raw[name, n, t] = (errors[:, k - 1], e0 - energy_ref[0])
            w = jax.nn.softmax(final.log_weights, axis=-1)
            hist = np.asarray(jax.vmap(coarse.histogram)(final.particles, w)) * coarse.cell_area
            l1 = np.abs(hist - masses_ref[None]).sum(axis=(1, 2))
            l1_rows.append(
                dict(
                    scheme=name,
                    n=n,
                    seeds=seeds,
                    t=t_end,
                    mean_L1=l1.mean(),
                    se_L1=l1.std(ddof=1) / math.sqrt(seeds),
                    iid_L1=iid_l1(masses_ref.ravel(), n, rng),
                    mean_ess=float(np.mean(1.0 / np.sum(np.asarray(w) ** 2, axis=-1))),
                )
            )
            if n == max(ns):
                density_rows[name] = hist[0].ravel()
            print(
                f"  {name:12s} n={n:5d} seeds={seeds:3d} wall={wall:5.1f}s (+{compile_s:4.1f}s compile) "
                f"mean|gap|(t={t_end:g})={np.abs(errors[:, -1]).mean():.2e} L1={l1.mean():.3f}",
                flush=True,
            )
    for name in SCHEMES:
        for t in TIMES:
            sel = [r for r in rows if r["scheme"] == name and r["t"] == t]
            control_variate_bias(sel, [raw[name, r["n"], t] for r in sel])
    write_rows(out / "particle_errors.csv", rows)
    write_rows(out / "histogram_l1.csv", l1_rows)
    keys = list(density_rows)
    write_rows(
        out / "densities.csv", [dict(zip(keys, v, strict=True)) for v in zip(*density_rows.values(), strict=True)]
    )
