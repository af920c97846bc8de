"""Running arms over seeds as one vmapped program each, interleaved chunk by chunk so that the wall-clock
of every arm is measured under the same machine load (compilation excluded, timed separately)."""

from __future__ import annotations

import time
from pathlib import Path

import jax
import numpy as np

from mfbd.simulate import init_ensemble, initial_record, run_chunk

RESULTS = Path(__file__).resolve().parents[1] / "results" / "evidence"


def run_interleaved(
    problem, schemes: dict, seeds, n, steps: dict, record_every: int, chunk: int, observe=None, on_chunk=None
):
    """Run every arm (``{name: scheme}``) for ``steps[name]`` steps, chunk by chunk in turn.

    ``observe``: None, one observer for every arm, or ``{name: observer}`` (:func:`~mfbd.simulate.run_chunk`).

    Returns ``{name: {"step", "time", "energy", "passes", "wall", ...}}``, each ``[S, R+1]`` with the initial
    record first: ``passes`` the cumulative oracle passes, ``wall`` the cumulative run time in seconds (each
    chunk's time spread evenly over its records; the init pass is not timed), plus ``compile_s`` per arm, and
    the fields of ``observe(state)`` (e.g. :func:`mfbd.simulate.state_energy`) if given. ``on_chunk(name, step,
    state)``, if given, sees the batched state at step 0 and after every chunk (untimed).
    """
    out, states, fns = {}, {}, {}
    for name, scheme in schemes.items():
        state, keys = init_ensemble(scheme, problem, n, seeds)
        watch = observe.get(name) if isinstance(observe, dict) else observe
        first = jax.vmap(lambda s, watch=watch: initial_record(s, watch))(state)
        fn = run_chunk(scheme, chunk // record_every, record_every, watch, seeds=True)
        t0 = time.perf_counter()
        jax.block_until_ready(fn(keys, state))  # compile (and one discarded chunk)
        compile_s = time.perf_counter() - t0
        states[name], fns[name] = (state, keys), fn
        out[name] = {"rows": [jax.device_get(first)], "walls": [np.zeros(1)], "compile_s": compile_s}
        if on_chunk is not None:
            on_chunk(name, 0, state)
    longest = max(steps.values())
    for done in range(0, longest, chunk):
        for name in schemes:
            if done >= steps[name]:
                continue
            state, keys = states[name]
            t0 = time.perf_counter()
            state, trace = jax.block_until_ready(fns[name](keys, state))
            seconds = time.perf_counter() - t0
            states[name] = (state, keys)
            out[name]["rows"].append(jax.device_get(trace))
            records = chunk // record_every
            out[name]["walls"].append(np.full(records, seconds / records))
            if on_chunk is not None:
                on_chunk(name, done + chunk, state)
    result = {}
    for name, o in out.items():
        first, *rest = o["rows"]
        trace = {k: np.concatenate([np.asarray(first[k])[:, None]] + [np.asarray(r[k]) for r in rest], axis=1)
                 for k in first}  # fmt: skip
        trace["passes"] = np.cumsum(trace["oracle_passes"], axis=1)
        trace["wall"] = np.cumsum(np.concatenate(o["walls"]))
        trace["compile_s"] = o["compile_s"]
        result[name] = trace
    return result
