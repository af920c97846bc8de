"""What the sampling studies share: the output folder and the timed seed ensemble.

Seeding, tables (CSV, Markdown), the fit and the machine record come from :mod:`experiments.common`.
"""

from __future__ import annotations

import pathlib
import time

import jax
import numpy as np

from experiments import common

RESULTS = pathlib.Path(__file__).resolve().parents[1] / "results" / "sampling"


def out_dir(study: str, root: pathlib.Path | None = None) -> pathlib.Path:
    path = pathlib.Path(root or RESULTS) / study
    path.mkdir(parents=True, exist_ok=True)
    return path


def ensemble(scheme, problem, n, seeds, steps, record_every, observe, chunk=None, stop=None):
    """Seeds 0..seeds-1 of one arm as one ``jit(vmap)`` program (:func:`experiments.common.ensemble`, the
    runner's seeding; ``chunk`` and ``stop`` as there), timed: ``(trace, seconds, states)``, the trace
    ``{field: [seeds, records]}`` from the first recorded step (the start, record 0, left out), the wall time
    with compilation.
    """
    start = time.perf_counter()
    states, trace = common.ensemble(
        scheme, problem, n, range(seeds), steps, record_every, observe=observe, chunk=chunk, stop=stop
    )
    states = jax.block_until_ready(states)
    return {k: v[:, 1:] for k, v in trace.items()}, time.perf_counter() - start, states


def cost_curve(target, label, arm, *, n, seeds, dt, observe, metrics, seconds, records):
    """Run one arm ``(problem, scheme, steps)`` (about ``records`` records) and return ``(curve, wall)``: the
    seed-mean curve of ``metrics`` (and their ``_sd``) against ``time`` with the cost columns ``grad_evals``
    (n per step), ``kernel_evals`` (the problem's per step; none for ``"langevin"``) and ``seconds`` (per step)."""
    problem, scheme, steps = arm
    trace, wall, _ = ensemble(scheme, target, n, seeds, steps, max(1, steps // records), observe)
    kernel = 0 if label == "langevin" else problem.meta.cost(n).kernel_evals
    t = trace["time"][0]
    k = np.round(t / dt)
    curve = {"time": t} | {m: trace[m].mean(0) for m in metrics} | {m + "_sd": trace[m].std(0) for m in metrics}
    return curve | {"grad_evals": n * k, "kernel_evals": kernel * k, "seconds": seconds * k}, wall
