"""Benchmark: compile time of a second process with the persistent compilation cache against the first.

Two fresh processes, one after the other, share an empty cache directory
(:func:`mfbd._cache.enable_compilation_cache`). Each builds the programs that
``mfbd run exp1_good`` compiles (per arm: the particle draw, ``init`` and one
chunk of ``run.chunk`` steps over 10 vmapped seeds, float64) and times
``lower`` (tracing, not cached) and ``compile`` (cached) apart. The ratio is
second / first. A third process with ``MFBD_NO_COMPILATION_CACHE=1`` checks that
the switch turns the cache off (its compile time stays that of the first).

    python -m experiments.benchmarks.compile_cache [--smoke]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from experiments.benchmarks.common import Row, Settings, standalone

CONFIG = "exp1_good"


def child(sets: list[str], arms: int = 3) -> dict:
    """Lower and compile the programs of the first ``arms`` arms in this process; seconds of each phase."""
    from mfbd._cache import enable_compilation_cache

    folder = enable_compilation_cache()
    import jax
    import numpy as np

    from mfbd.config import load, make_problem, make_scheme
    from mfbd.runner import _init_fn, _particles_fn
    from mfbd.simulate import run_chunk, seed_keys

    cfg = load(CONFIG, sets)
    run = cfg.run
    x64 = run.dtype == "float64"
    lower = compile_ = 0.0
    with jax.enable_x64(x64):
        problem = make_problem(cfg.problem, run.n, x64)
        particle_keys, init_keys, run_keys = seed_keys(run.seed_list)
        for _, arm in cfg.arms[:arms]:
            scheme = make_scheme(problem, arm, run.steps)
            draw = _particles_fn(problem, run.n, np.dtype(run.dtype))
            chunk = run_chunk(scheme, run.chunk // run.record_every, run.record_every, None, seeds=True)
            particles = draw(particle_keys)
            state = _init_fn(scheme)(particles, init_keys)
            for fn, args in (
                (draw, (particle_keys,)),
                (_init_fn(scheme), (particles, init_keys)),
                (chunk, (run_keys, state)),
            ):
                start = time.perf_counter()
                lowered = fn.lower(*args)
                middle = time.perf_counter()
                lowered.compile()
                lower, compile_ = lower + middle - start, compile_ + time.perf_counter() - middle
    return {"lower": lower, "compile": compile_, "cache": str(folder), "entries": len(os.listdir(folder or "."))}


def _spawn(env: dict, sets: list[str], arms: int) -> dict:
    code = "import json, sys; from experiments.benchmarks.compile_cache import child; "
    code += "print(json.dumps(child(sys.argv[2:], int(sys.argv[1]))))"
    command = [sys.executable, "-c", code, str(arms), *sets]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(settings: Settings) -> list[Row]:
    sets = ["run.seeds=10", "run.chunk=100"] + (["run.n=100"] if settings.quick else [])
    arms = 2 if settings.quick else 3
    with tempfile.TemporaryDirectory() as folder:
        env = os.environ | {"MFBD_CACHE_DIR": folder, "PYTHONPATH": os.getcwd()}
        env.pop("MFBD_NO_COMPILATION_CACHE", None)
        first = _spawn(env, sets, arms)
        second = _spawn(env, sets, arms)
        off = _spawn(env | {"MFBD_NO_COMPILATION_CACHE": "1"}, sets, arms)
    bench = f"compile cache: {CONFIG} programs ({arms} arms x draw, init, chunk), second process / first"
    note = (
        f"{first['entries']} cache entries; lowering (not cached): {first['lower']:.2f} s, then {second['lower']:.2f} s"
    )
    return [
        Row(benchmark=bench, case="first process: compile", value=first["compile"], unit="s"),
        Row(
            benchmark=bench,
            case="second process: compile",
            value=second["compile"],
            unit="s",
            baseline="first process",
            baseline_value=first["compile"],
            ratio=second["compile"] / first["compile"],
            target="<= 0.10",
            note=note,
        ),
        Row(
            benchmark=bench,
            case="second process: lower + compile",
            value=second["lower"] + second["compile"],
            unit="s",
            baseline="first process",
            baseline_value=first["lower"] + first["compile"],
            ratio=(second["lower"] + second["compile"]) / (first["lower"] + first["compile"]),
            note="context: tracing and lowering are paid by every process",
        ),
        Row(
            benchmark=bench,
            case="MFBD_NO_COMPILATION_CACHE=1: compile",
            value=off["compile"],
            unit="s",
            baseline="first process",
            baseline_value=first["compile"],
            ratio=off["compile"] / first["compile"],
            target=">= 0.5",
            note="the switch turns the cache off",
        ),
    ]


main = standalone(run, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
