"""What the sampling studies share: seed ensembles in one vmapped program, the output folder, a line fit.

Tables (CSV, Markdown) and the machine record come from :mod:`experiments.common`.
"""

from __future__ import annotations

import pathlib
import time

import jax
import numpy as np

from mfbd.simulate import run_chunk

RESULTS = pathlib.Path(__file__).resolve().parents[1] / "results" / "sampling"


def out_dir(study: str, root: pathlib.Path | None = None) -> pathlib.Path:
    path = pathlib.Path(root or RESULTS) / study
    path.mkdir(parents=True, exist_ok=True)
    return path


def ensemble(scheme, init, n, seeds, steps, record_every, observe, seed=0):
    """Run ``seeds`` independent copies (keys fold_in(key(seed), s)) as one jit(vmap) program.

    Returns ``(trace, seconds, states)``: numpy arrays ``[seeds, records]``, the wall time
    (compilation included) and the final states (leading axis: seeds).
    """
    start = time.perf_counter()
    base = jax.random.key(seed)
    keys = jax.vmap(lambda s: jax.random.fold_in(base, s))(np.arange(seeds))
    pairs = jax.vmap(jax.random.split)(keys)
    init_keys, run_keys = pairs[:, 0], pairs[:, 1]
    states = jax.jit(jax.vmap(lambda k: scheme.init(init(k, n))))(init_keys)
    run = jax.jit(jax.vmap(run_chunk(scheme, steps // record_every, record_every, observe)))
    states, trace = run(run_keys, states)
    trace = {k: np.asarray(v) for k, v in trace.items()}
    return trace, time.perf_counter() - start, jax.block_until_ready(states)


def fit_line(x, y):
    """Least-squares slope and intercept of y against x (finite points only)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2:
        return float("nan"), float("nan")
    slope, intercept = np.polyfit(x[ok], y[ok], 1)
    return float(slope), float(intercept)
