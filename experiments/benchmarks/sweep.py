"""Benchmark: an α × seeds sweep as one vmapped program against the same runs one after another.

5 values of α × 10 seeds, n = 200, for the birth-death arm of experiment 1
(``exp1_good``, notebook settings) and of experiment 2 in kernel mode
(``exp2_meanfield_sweep``, mean-field scaling, d = 50). The sweep side is the
program :mod:`mfbd.runner.loop` builds for a group (the scheme built inside the
vmap from traced α, one compile; at n = 200 and 10 seeds the batching rule
:func:`mfbd.runner.batching.values_per_call` vmaps one α per call and loops over the
five with ``lax.map``); the sequential side is what ``mfbd run`` does
for each α (one ``run_chunk(..., seeds=True)`` program per α, 10 seeds each,
five compiles). Both compute the same runs (checked). Compile time is measured
apart (``lower().compile()``); run times are interleaved round by round and the
ratio is the median of the per-round ratios (:func:`~experiments.benchmarks.common.interleaved`).

    python -m experiments.benchmarks.sweep [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import jax
import numpy as np

from experiments.benchmarks.common import Row, Settings, compile_seconds, interleaved
from mfbd.config import make_observe, make_problem, make_scheme, read
from mfbd.runner import _init_fn, _particles_fn
from mfbd.runner.loop import Group, Sigint
from mfbd.simulate import run_chunk, seed_keys

ALPHAS = {"exp1_good": (0.5, 1.0, 2.0, 5.0, 10.0), "exp2_meanfield_sweep": (0.01, 0.03, 0.1, 0.3, 1.0)}
SEEDS, N = 10, 200


def _programs(name: str, steps: int):
    """(sweep program and its arguments, sequential programs and their arguments, records) for ``name``."""
    alphas = list(ALPHAS[name])
    sets = [f"sweep.arms.bd.alpha={alphas}", f"run.seeds={SEEDS}", f"run.steps={steps}"]
    sets += [f"run.{k}={steps}" for k in ("chunk", "checkpoint_every")]
    if name == "exp1_good":
        sets += [f"run.n={N}", *(f"arms.{a}.quench_last=0" for a in ("bd", "bd_prior"))]  # short runs: no quench
    else:  # replace the bundled zip lists
        sets += [f"sweep.arms.rw.alpha={alphas}", f"sweep.run.n={[N] * len(alphas)}", "run.record_every=10"]
    sw = read(name, sets)
    cfg = sw.configs[0]
    every = cfg.run.record_every
    records = steps // every
    with tempfile.TemporaryDirectory() as folder:
        group = Group(Path(folder), sw, list(range(len(sw.points))), None, Sigint())
    arm = next(a for a in group.arms if a.name == "bd")
    params, entry = group._batch(arm)
    state = group._init(arm, params, entry)
    swept = (group._program(arm, records), (params, group.run_keys[entry], state))
    sequential = []
    x64 = cfg.run.dtype == "float64"
    problem, observe = make_problem(cfg.problem, N, x64), make_observe(cfg.problem, N, x64)
    particle_keys, init_keys, run_keys = seed_keys(cfg.run.seed_list)
    for point in sw.configs:
        scheme = make_scheme(problem, dict(point.arms)["bd"], steps)
        start = _init_fn(scheme)(_particles_fn(problem, N, np.dtype(cfg.run.dtype))(particle_keys), init_keys)
        sequential.append((run_chunk(scheme, records, every, observe, seeds=True), (run_keys, start)))
    return swept, sequential, cfg.run.dtype


def measure(name: str, steps: int, repeats: int) -> list[Row]:
    with jax.enable_x64(True):  # both configs run in float64
        swept, sequential, dtype = _programs(name, steps)
        compile_sweep, sweep_fn = compile_seconds(swept[0], *swept[1])
        compiled = [compile_seconds(fn, *args) for fn, args in sequential]
        compile_seq = sum(c for c, _ in compiled)
        seq_fns = [(fn, args) for (_, fn), (_, args) in zip(compiled, sequential, strict=True)]
        _, together = sweep_fn(*swept[1])
        alone = [fn(*args)[1] for fn, args in seq_fns]
        np.testing.assert_allclose(
            np.asarray(together["energy"]), np.concatenate([np.asarray(t["energy"]) for t in alone]), rtol=1e-10
        )
        timings = interleaved(
            {"sequential": lambda: [fn(*args) for fn, args in seq_fns], "sweep": lambda: sweep_fn(*swept[1])},
            repeats,
        )
    run_ratio = timings.ratio("sequential", "sweep")
    total_seq = compile_seq + timings.median("sequential")
    total_sweep = compile_sweep + timings.median("sweep")
    bench = f"sweep {len(ALPHAS[name])} alpha x {SEEDS} seeds, {name} bd, n={N}, {steps} steps"
    note = f"{dtype}; compile: sweep {compile_sweep:.1f} s once, sequential {compile_seq:.1f} s for 5 programs"
    return [
        Row(benchmark=bench, case="sequential runs (5 programs)", value=timings.median("sequential"), unit="s"),
        Row(
            benchmark=bench,
            case="one vmapped program: run time",
            value=timings.median("sweep"),
            unit="s",
            baseline="sequential",
            baseline_value=timings.median("sequential"),
            ratio=run_ratio,
            target=">= 1.0",
            note=note,
        ),
        Row(
            benchmark=bench,
            case="one vmapped program: compile + run",
            value=total_sweep,
            unit="s",
            baseline="sequential compile + run",
            baseline_value=total_seq,
            ratio=total_seq / total_sweep,
            target=">= 2.5",
            note=note,
        ),
    ]


def run(settings: Settings) -> list[Row]:
    quick, full = {"exp1_good": 200, "exp2_meanfield_sweep": 100}, {"exp1_good": 1000, "exp2_meanfield_sweep": 400}
    steps = quick if settings.quick else full
    repeats = 3 if settings.quick else 5
    return [row for name in ALPHAS for row in measure(name, steps[name], repeats)]


def main(argv=None) -> int:
    from experiments.benchmarks.run_all import format_table

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    print(format_table(run(Settings(quick=args.quick))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
