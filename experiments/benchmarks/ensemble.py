"""Benchmark 3: a seed ensemble in one vmapped program against sequential runs.

Experiment 1 (good start, n = 200), GD+BD with the notebook settings, 3000
steps recorded every 10, 32 seeds: one ``jit(vmap(run_chunk(...)))`` call
against 32 calls of the same compiled single-seed chunk. Throughput is
seed-steps per second; both sides compute the same runs (checked).
"""

from __future__ import annotations

import time

import jax
import numpy as np

import mfbd
from experiments.benchmarks.common import Row, Settings, compile_seconds, ready
from mfbd.simulate import run_chunk

N = 200
SEEDS = 32
RECORD_EVERY = 10


def notebook_arm(problem, arm: str, num_steps: int):
    """The three arms of experiment 1 with the notebook settings (paper-notes §5)."""
    if arm == "gd":
        return mfbd.gradient_flow(problem, 0.01)
    prior = "fill_deficit" if arm == "gd_bd_prior" else None
    return mfbd.birth_death(
        problem,
        0.01,
        5.0,
        rates="uncentred",
        probability="linear",
        control="rebalance",
        prior=prior,
        quench_after=num_steps - 1000,
    )


def seed_states(scheme, problem, keys):
    """Initial states, one per key, stacked on a leading seed axis."""
    return jax.vmap(lambda k: scheme.init(problem.init_particles(k, N)))(keys)


def run(settings: Settings) -> list[Row]:
    steps = 1500 if settings.quick else 3000
    problem = mfbd.problems.gaussian_mixture_1d("good")
    scheme = notebook_arm(problem, "gd_bd", steps)
    init_keys, run_keys = jax.random.split(jax.random.key(0))
    init_keys, run_keys = jax.random.split(init_keys, SEEDS), jax.random.split(run_keys, SEEDS)
    states = seed_states(scheme, problem, init_keys)
    one = run_chunk(scheme, steps // RECORD_EVERY, RECORD_EVERY)
    state_of = [jax.tree.map(lambda a, s=s: a[s], states) for s in range(SEEDS)]

    start = time.perf_counter()
    ready(one(run_keys[0], state_of[0]))
    compile_single = time.perf_counter() - start
    compile_vmapped, many = compile_seconds(jax.vmap(one), run_keys, states)

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
        Row(bench, "sequential runs", seed_steps / seq, "seed-steps/s", note=f"compile {compile_single:.1f} s"),
        Row(
            bench,
            "vmapped / sequential throughput",
            seed_steps / vm,
            "seed-steps/s",
            "sequential",
            seed_steps / seq,
            float(np.median(np.asarray(sequential) / np.asarray(vmapped))),
            ">= 4",
            f"compile {compile_vmapped:.1f} s; GD+BD notebook settings, n={N}",
        ),
    ]
