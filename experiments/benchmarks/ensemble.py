"""Benchmark 3: a seed ensemble in one vmapped program against sequential runs.

Experiment 1 (good start, n = 200), GD+BD with the notebook settings, 3000
steps recorded every 10, 32 seeds: one ``run_chunk(..., seeds=True)`` call
against 32 calls of the same compiled single-seed chunk. Throughput is
seed-steps per second; both sides compute the same runs (checked).
"""

from __future__ import annotations

import time

import jax
import numpy as np

from experiments.benchmarks.common import Row, Settings, compile_seconds, ready
from mfbd.config import load, make_problem, make_scheme
from mfbd.simulate import run_chunk

N = 200
SEEDS = 32
RECORD_EVERY = 10


#: The notebook arms (:mod:`experiments.benchmarks.notebook_numpy`) and their names in the bundled configs.
CONFIG_ARMS = {"gd": "gd", "gd_bd": "bd", "gd_bd_prior": "bd_prior"}


def notebook_arm(start: str, arm: str, num_steps: int):
    """(problem, scheme) of a notebook arm of experiment 1 for a run of ``num_steps``, from the bundled config
    ``exp1_<start>`` (dt 0.01, α 5, uncentred rates, linear probabilities, rebalance, birth-death off for the
    last 1000 steps)."""
    cfg = load(f"exp1_{start}")
    problem = make_problem(cfg.problem, N, False)
    return problem, make_scheme(problem, dict(cfg.arms)[CONFIG_ARMS[arm]], num_steps)


def seed_states(scheme, problem, keys):
    """Initial states, one per key, stacked on a leading seed axis."""
    return jax.vmap(lambda k: scheme.init(problem.init_particles(k, N)))(keys)


def run(settings: Settings) -> list[Row]:
    steps = 1500 if settings.quick else 3000
    problem, scheme = notebook_arm("good", "gd_bd", steps)
    init_keys, run_keys = jax.random.split(jax.random.key(0))
    init_keys, run_keys = jax.random.split(init_keys, SEEDS), jax.random.split(run_keys, SEEDS)
    states = seed_states(scheme, problem, init_keys)
    one = run_chunk(scheme, steps // RECORD_EVERY, RECORD_EVERY)
    state_of = [jax.tree.map(lambda a, s=s: a[s], states) for s in range(SEEDS)]

    start = time.perf_counter()
    ready(one(run_keys[0], state_of[0]))
    compile_single = time.perf_counter() - start
    many_seeds = run_chunk(scheme, steps // RECORD_EVERY, RECORD_EVERY, seeds=True)
    compile_vmapped, many = compile_seconds(many_seeds, run_keys, states)

    rounds = settings.reps(2) if not settings.quick else 1
    sequential, vmapped = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        finals = [ready(one(run_keys[s], state_of[s]))[1]["energy"][-1] for s in range(SEEDS)]
        sequential.append(time.perf_counter() - start)
        start = time.perf_counter()
        _, trace = ready(many(run_keys, states))
        vmapped.append(time.perf_counter() - start)
    np.testing.assert_allclose(np.asarray(trace["energy"][:, -1]), np.asarray(finals), rtol=1e-4, atol=1e-6)

    seq, vm = float(np.median(sequential)), float(np.median(vmapped))
    seed_steps = SEEDS * steps
    bench = f"3 seed ensemble {SEEDS} x {steps} steps"
    return [
        Row(
            benchmark=bench,
            case="sequential runs",
            value=seed_steps / seq,
            unit="seed-steps/s",
            note=f"compile {compile_single:.1f} s",
        ),
        Row(
            benchmark=bench,
            case="vmapped / sequential throughput",
            value=seed_steps / vm,
            unit="seed-steps/s",
            baseline="sequential",
            baseline_value=seed_steps / seq,
            ratio=float(np.median(np.asarray(sequential) / np.asarray(vmapped))),
            target=">= 4",
            note=f"compile {compile_vmapped:.1f} s; GD+BD notebook settings, n={N}",
        ),
    ]
