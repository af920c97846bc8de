"""Benchmark 4: the whole of experiment 1 through mfbd against the notebook's NumPy loop.

3 arms (GD, GD+BD with the notebook settings, GD+BD-μ_b) × 2 starts (good:
3000 steps, bad: 10000 steps) × 10 seeds, n = 200. mfbd runs each (arm, start)
as one program vmapped over the 10 seeds, recording E every 10 steps.

The NumPy side (:mod:`experiments.benchmarks.notebook_numpy`) is far too slow
to run in full here, so it is timed on a part and extrapolated: for each
(arm, start), one seed runs ``sample`` birth-death steps and ``sample`` plain
gradient steps from its real start, and the total is
10 × (birth-death steps × their mean cost + gradient-only steps × theirs).
The two sides are timed alternately, (arm, start) by (arm, start).
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

import mfbd
from experiments.benchmarks.common import Row, Settings, compile_seconds, ready
from experiments.benchmarks.ensemble import notebook_arm, seed_states
from experiments.benchmarks.notebook_numpy import ARMS, NotebookRun
from mfbd.simulate import run_chunk

N = 200
SEEDS = 10
STARTS = {"good": 3000, "bad": 10000}
QUENCH = 1000
RECORD_EVERY = 10


def numpy_seconds_per_step(y, c, arm, num_steps, sample):
    """Mean seconds per birth-death step and per gradient-only step of the NumPy loop."""
    run = NotebookRun(y, c, arm, num_steps, seed=0)
    start = time.perf_counter()
    for _ in range(sample):
        run.step()
    first = (time.perf_counter() - start) / sample
    run.t = num_steps - QUENCH  # jump to the quench: gradient steps only
    start = time.perf_counter()
    for _ in range(sample):
        run.step()
    quenched = (time.perf_counter() - start) / sample
    return (quenched, quenched) if arm == "gd" else (first, quenched)


def check_same_gradient_flow(problem, particles):
    """The NumPy loop and mfbd take the same gradient steps (float32 here)."""
    scheme = mfbd.gradient_flow(problem, 0.01)
    state, trace = mfbd.simulate(jax.random.key(0), scheme, scheme.init(particles), 20)
    run = NotebookRun(particles["y"], particles["c"], "gd", 20, seed=0)
    energies = [run.step() for _ in range(20)]
    np.testing.assert_allclose(run.y, np.asarray(state.particles["y"]), atol=1e-4)
    np.testing.assert_allclose(energies, np.asarray(trace["energy"]), atol=1e-5)


def run(settings: Settings) -> list[Row]:
    sample = 60 if settings.quick else 200
    keys = jax.random.split(jax.random.key(0), SEEDS)
    check_same_gradient_flow(
        mfbd.problems.gaussian_mixture_1d("good"), mfbd.problems.gaussian_mixture_1d("good").init_particles(keys[0], N)
    )
    mfbd_run = mfbd_compile = numpy_total = 0.0
    per_case = []
    for start_name, steps in STARTS.items():
        for arm in ARMS:
            problem, scheme = notebook_arm(start_name, arm, steps)
            states = seed_states(scheme, problem, keys)
            run_keys = jax.vmap(lambda k: jax.random.fold_in(k, 1))(keys)
            chunk = run_chunk(scheme, steps // RECORD_EVERY, RECORD_EVERY, seeds=True)
            seconds, program = compile_seconds(chunk, run_keys, states)
            mfbd_compile += seconds
            begin = time.perf_counter()
            _, trace = ready(program(run_keys, states))
            elapsed = time.perf_counter() - begin
            mfbd_run += elapsed
            if not bool(jnp.all(jnp.isfinite(trace["energy"]))):
                raise RuntimeError(f"non-finite energy in {arm}/{start_name}")

            p0 = jax.tree.map(lambda a: np.asarray(a[0], np.float64), states.particles)
            bd_cost, gd_cost = numpy_seconds_per_step(p0["y"], p0["c"], arm, steps, sample)
            bd_steps = 0 if arm == "gd" else steps - QUENCH
            total = SEEDS * (bd_steps * bd_cost + (steps - bd_steps) * gd_cost)
            numpy_total += total
            per_case.append(f"{arm}/{start_name} {total / elapsed:.0f}x")

    bench = f"4 experiment 1 (3 arms x 2 starts x {SEEDS} seeds)"
    numpy_note = f"numpy timed on {sample}+{sample} steps per arm/start, 1 seed; per case: " + ", ".join(per_case)
    base = dict(benchmark=bench, unit="s", baseline="numpy loop (extrapolated)", baseline_value=numpy_total)
    return [
        Row(
            benchmark=bench,
            case="mfbd whole experiment (run)",
            value=mfbd_run,
            unit="s",
            note=f"compile {mfbd_compile:.1f} s for 6 programs",
        ),
        Row(
            case="numpy notebook loop / mfbd (speed-up)",
            value=mfbd_run,
            ratio=numpy_total / mfbd_run,
            target=">= 100",
            note=numpy_note,
            **base,
        ),
        Row(
            case="numpy / mfbd including compile",
            value=mfbd_run + mfbd_compile,
            ratio=numpy_total / (mfbd_run + mfbd_compile),
            **base,
        ),
    ]
