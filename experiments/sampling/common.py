"""What the sampling studies share: seed ensembles in one vmapped program, CSV, fits, timing."""

from __future__ import annotations

import csv
import pathlib
import platform
import time

import jax
import numpy as np

from mfbd.simulate import run_chunk

RESULTS = pathlib.Path(__file__).resolve().parents[1] / "results" / "sampling"


def out_dir(study: str) -> pathlib.Path:
    path = RESULTS / study
    path.mkdir(parents=True, exist_ok=True)
    return path


def ensemble(scheme, init, n, seeds, steps, record_every, observe, seed=0):
    """Run ``seeds`` independent copies (keys fold_in(key(seed), s)) as one jit(vmap) program.

    Returns ``(trace, seconds)``: numpy arrays ``[seeds, records]`` and the wall time
    (compilation included).
    """
    start = time.perf_counter()
    base = jax.random.key(seed)
    keys = jax.vmap(lambda s: jax.random.fold_in(base, s))(np.arange(seeds))
    pairs = jax.vmap(jax.random.split)(keys)
    init_keys, run_keys = pairs[:, 0], pairs[:, 1]
    states = jax.jit(jax.vmap(lambda k: scheme.init(init(k, n))))(init_keys)
    run = jax.jit(jax.vmap(run_chunk(scheme, steps // record_every, record_every, observe)))
    _, trace = run(run_keys, states)
    trace = {k: np.asarray(v) for k, v in trace.items()}
    return trace, time.perf_counter() - start


def write_csv(path, rows: list[dict]):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def fit_line(x, y):
    """Least-squares slope and intercept of y against x (finite points only)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2:
        return float("nan"), float("nan")
    slope, intercept = np.polyfit(x[ok], y[ok], 1)
    return float(slope), float(intercept)


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {jax.devices()[0].platform}, jax {jax.__version__}"


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [f"{row[c]:.4g}" if isinstance(row[c], float) else str(row[c]) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
