"""What the studies share: the seed ensemble, dict-row CSV tables, the power-law fit, figures, Markdown tables,
the machine record and the smoke switch.

Rows are dicts (column name → value), so a table is read by name, never by position.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
import platform
import time
from pathlib import Path

import numpy as np

__all__ = [
    "PowerLaw",
    "ensemble",
    "fit_power_law",
    "machine_record",
    "md_table",
    "read_rows",
    "save_figure",
    "smoke_config",
    "speedup",
    "write_rows",
]


# --- the seed ensemble ---------------------------------------------------------------------------------------------


def ensemble(scheme, problem, n: int, seeds, steps: int, record_every: int, *, observe=None, chunk=None,
             dtype=None, stop=None):  # fmt: skip
    """Every seed of one arm as one ``jit(vmap)`` program: ``(final states, trace)``, the trace
    ``{field: [S, R + 1]}`` with record 0 the start (:func:`mfbd.simulate.initial_record`).

    Seeds start from :func:`mfbd.simulate.init_ensemble` (the runner's seeding: seed s starts the same in
    every arm and in ``mfbd run``) and run ``run_chunk(..., seeds=True)`` in chunks of ``chunk`` steps
    (default all); ``stop(trace) -> bool`` ends the run after a chunk (e.g. on a non-finite energy), so the
    trace may be shorter.
    """
    import jax

    from mfbd.simulate import init_ensemble, initial_record, run_chunk

    states, keys = init_ensemble(scheme, problem, n, seeds, dtype)
    first = jax.vmap(lambda s: initial_record(s, observe))(states)
    traces = [{k: np.asarray(v)[:, None] for k, v in first.items()}]
    chunk = chunk or steps
    for done in range(0, steps, chunk):
        length = min(chunk, steps - done)
        states, trace = run_chunk(scheme, length // record_every, record_every, observe, seeds=True)(keys, states)
        traces.append({k: np.asarray(v) for k, v in trace.items()})
        if stop is not None and stop(traces[-1]):
            break
    return states, {k: np.concatenate([t[k] for t in traces], axis=1) for k in traces[0]}


def speedup(x, reference, target: float, at: float) -> tuple[float, bool]:
    """The speed-up over a reference (GD) at ``at``: (the x at which the reference's seed-mean energy
    ``[S, R]`` first reaches ``target``) / ``at``, linear in log E between records
    (:func:`mfbd.stats.first_reach`), and whether it never does (then the ratio is the lower bound x_end / at).

    ``target`` is the arm's seed-mean energy at ``at``; x is mean-field time or steps.
    """
    from mfbd.stats import first_reach

    times, censored = first_reach(x, np.mean(np.asarray(reference, float), axis=0), target)
    return float(times[0] / at), bool(censored[0])


# --- tables --------------------------------------------------------------------------------------------------------


def write_rows(path: Path, rows: list[dict], columns=None, float_format: str | None = None) -> None:
    """Write dict ``rows`` as a CSV with the header ``columns`` (default: the keys of the first row).

    ``float_format`` (e.g. ``"{:.4g}"``) formats the float cells; without it they are written in full.
    """
    if columns is None:
        if not rows:
            raise ValueError(f"write_rows: no rows and no columns for {path}; pass columns=")
        columns = list(rows[0])
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns))
        writer.writeheader()
        for row in rows:
            if float_format is not None:
                row = {k: float_format.format(v) if isinstance(v, float) else v for k, v in row.items()}
            writer.writerow(row)


def read_rows(path: Path) -> list[dict]:
    """The rows of a CSV written by :func:`write_rows`, with numbers parsed back (int, then float)."""

    def parse(value):
        for kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                pass
        return value

    with open(path) as f:
        return [{k: parse(v) for k, v in row.items()} for row in csv.DictReader(f)]


def md_table(rows: list[dict], columns, fmt: dict | None = None) -> str:
    """A Markdown table of ``rows`` (dicts); ``fmt`` maps a column to a format string, floats default to ``.4g``."""
    fmt = fmt or {}
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        cells = []
        for c in columns:
            v = r[c]
            if c in fmt:
                cells.append(fmt[c].format(v))
            else:
                cells.append(f"{v:.4g}" if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- the power-law fit ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PowerLaw:
    """A fit of y ≈ prefactor·x^exponent + offset; ``[lo, hi]`` is the interval of the exponent.

    Without an offset ``offset = offset_se = 0`` and the interval is exponent ± exponent_se; with one the
    interval is the χ² profile interval and ``exponent_se`` is nan.
    """

    exponent: float
    lo: float
    hi: float
    exponent_se: float
    prefactor: float
    offset: float
    offset_se: float
    chi2_dof: float


def _weighted_lstsq(design: np.ndarray, target: np.ndarray, w: np.ndarray):
    """argmin_β Σ w (target - design β)²: (β, its covariance (Xᵀ W X)⁻¹, χ²)."""
    cov = np.linalg.inv(design.T @ (w[:, None] * design))
    beta = cov @ design.T @ (w * target)
    return beta, cov, float(np.sum(w * (target - design @ beta) ** 2))


#: The exponents scanned by the fit with an offset, unless given.
EXPONENTS = np.linspace(-2.5, -0.1, 2401)


def fit_power_law(x, y, se=None, *, offset: bool = False, exponents=None) -> PowerLaw:
    """Weighted least-squares fit of y ≈ C·x^p (``offset=False``) or y ≈ C·x^p + D (``offset=True``).

    Without an offset: log y = log C + p log x, weights (y/se)² (the delta method; equal weights without
    ``se``). The standard error of p comes from the covariance, scaled by χ²/dof without ``se`` and by
    max(1, χ²/dof) with it (points scattering more than their error bars allow widen it).

    With an offset (signed y, ``se`` required): for each p in ``exponents`` (default :data:`EXPONENTS`) C and D
    by weighted least squares with weights 1/se², p by the least χ²; the interval of p is the profile
    interval {p : χ²(p) ≤ χ²_min + max(1, χ²_min/dof)}, dof = max(len(x) - 3, 1) (it reaching an end of
    the scanned range means p is not determined by the data); D's standard error at the best p is scaled by
    max(1, χ²_min/dof).
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if not offset:
        lx, ly = np.log(x), np.log(y)
        w = np.ones_like(lx) if se is None else (y / np.asarray(se, float)) ** 2
        design = np.stack([np.ones_like(lx), lx], axis=1)
        beta, cov, chi2 = _weighted_lstsq(design, ly, w)
        dof = len(lx) - 2
        if se is None:
            scale = chi2 / dof if dof > 0 else math.nan
        else:
            scale = max(1.0, chi2 / dof) if dof > 0 else 1.0
        p, p_se = float(beta[1]), float(math.sqrt(cov[1, 1] * scale))
        return PowerLaw(p, p - p_se, p + p_se, p_se, float(np.exp(beta[0])), 0.0, 0.0, chi2 / max(dof, 1))
    if se is None:
        raise ValueError("fit_power_law: offset=True needs the standard errors se")
    grid = EXPONENTS if exponents is None else np.asarray(exponents, float)
    w = 1.0 / np.asarray(se, float) ** 2

    def solve(p):
        return _weighted_lstsq(np.stack([x**p, np.ones_like(x)], axis=1), y, w)

    chi2 = np.array([solve(p)[2] for p in grid])
    best = int(np.argmin(chi2))
    dof = max(len(x) - 3, 1)
    inside = grid[chi2 <= chi2[best] + max(1.0, chi2[best] / dof)]
    (c, d), cov, _ = solve(grid[best])
    scale = max(1.0, chi2[best] / dof)
    return PowerLaw(
        float(grid[best]),
        float(inside.min()),
        float(inside.max()),
        math.nan,
        float(c),
        float(d),
        float(math.sqrt(cov[1, 1] * scale)),
        float(chi2[best] / dof),
    )


# --- figures, machine, smoke ---------------------------------------------------------------------------------------


def save_figure(fig, path: Path, dpi: int = 120) -> None:
    """Write a :class:`matplotlib.figure.Figure` (made without pyplot) to ``path`` with the Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=dpi)


def machine_record(**extra) -> dict:
    """Where the numbers came from: CPU, cores, load, versions, JAX backend and devices, date; plus ``extra``."""
    import jax
    import jaxlib

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    devices = jax.devices()
    record = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
        "backend": jax.default_backend(),
        "devices": f"{len(devices)} x {devices[0].device_kind}",
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
    return record | extra | {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


def smoke_config(config, smoke: bool, **sizes):
    """The smoke switch: ``mfbd.config.shrink(config, **sizes)`` when ``smoke``, else ``config`` unchanged."""
    from mfbd.config import shrink

    return shrink(config, **sizes) if smoke else config
