"""The sweep figure and table of a sweep run directory (:mod:`mfbd.runner.rundir`).

Per point and arm, over the seeds:

* the final energy E (last record; mean, standard deviation, min, max);
* the speed-up over the reference arm (``[sweep] reference``, default the
  first arm) at half the run, seed by seed (the same initial particles): the
  first recorded step at which the reference's energy reaches the arm's energy
  at the half-way step, divided by that step. When the reference never gets
  there within the run, the seed's speed-up is the lower bound (last step)/(half
  step) and is counted in ``speedup_bounds``.

``sweep_table.csv`` holds these numbers; ``sweep.png|pdf`` draws them against
each swept key (keys whose values are equal at every point share one axis),
mean ± sd over seeds, one colour per arm and one line style per combination
of the other keys (the combinations with at least two points).
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from mfbd.config.sweep import Sweep, read
from mfbd.plotting._common import _save
from mfbd.runner.rundir import read_index, read_points

__all__ = ["plot_sweep", "sweep_rows", "sweep_figure"]

STYLES = ("-", "--", ":", "-.")


def _speedups(reference: np.ndarray, energy: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Per seed: (first step the reference reaches the arm's energy at half the run) / (half step); bounds negated."""
    half = len(steps) // 2
    out = np.full(energy.shape[0], np.nan)
    if energy.shape[1] <= half or half == 0 or steps[half] == 0:
        return out
    for s in range(min(energy.shape[0], reference.shape[0])):
        hit = np.flatnonzero(reference[s] <= energy[s, half])
        out[s] = steps[hit[0]] / steps[half] if hit.size else -steps[-1] / steps[half]
    return out


def sweep_rows(run_dir) -> tuple[list[str], list[dict]]:
    """The swept keys and one row per point × arm (see the module docstring)."""
    run_dir = Path(run_dir)
    config = load_sweep_config(run_dir)
    keys, _ = read_index(run_dir)
    reference = config.reference
    rows = []
    for point in read_points(run_dir):
        metrics = point["metrics"]
        ref = metrics.get(reference)
        for arm, _ in config.base.arms:
            if arm not in metrics:
                continue
            m = metrics[arm]
            energy, steps = m["energy"], m["step"][0]
            full = ref is not None and len(ref["step"][0]) == energy.shape[1]
            final = energy[:, -1] if full else np.full(energy.shape[0], np.nan)
            speed = _speedups(ref["energy"], energy, ref["step"][0]) if ref is not None else np.full(len(final), np.nan)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                row = {"point": point["point"], **point["values"], "arm": arm, "label": config.base.label(arm)}
                row.update(
                    seeds=energy.shape[0],
                    final_step=int(steps[-1]),
                    final_energy_mean=float(np.mean(final)),
                    final_energy_sd=float(np.std(final, ddof=1)) if len(final) > 1 else 0.0,
                    final_energy_min=float(np.min(final)),
                    final_energy_max=float(np.max(final)),
                    speedup_mean=float(np.mean(np.abs(speed))),
                    speedup_sd=float(np.std(np.abs(speed), ddof=1)) if len(speed) > 1 else 0.0,
                    speedup_bounds=int(np.sum(speed < 0)),
                )
            rows.append(row)
    return keys, rows


def load_sweep_config(run_dir) -> Sweep:
    """The :class:`~mfbd.config.Sweep` of a sweep run directory (read only: nothing is built)."""
    return read(str(Path(run_dir) / "config.toml"), force=True)


def _number(text):
    try:
        return float(text)
    except ValueError:
        return None


def _axes(keys: list[str], rows: list[dict]) -> list[list[str]]:
    """Swept keys grouped into axes: keys with equal values at every point share one."""
    axes: list[list[str]] = []
    for key in keys:
        for axis in axes:
            if all(r[key] == r[axis[0]] for r in rows):
                axis.append(key)
                break
        else:
            axes.append([key])
    return axes


def sweep_figure(keys: list[str], rows: list[dict], arms: list[tuple[str, str]], reference: str) -> Figure:
    """Final energy (top) and speed-up over ``reference`` (bottom) against each swept axis, per arm."""
    axes_keys = _axes(keys, rows)
    fig = Figure(figsize=(5.0 * len(axes_keys), 7.5), layout="constrained")
    panels = fig.subplots(2, len(axes_keys), squeeze=False)
    for col, axis in enumerate(axes_keys):
        x_key = axis[0]
        others = [a[0] for a in axes_keys if a is not axis]
        combos = list(dict.fromkeys(tuple(r[k] for k in others) for r in rows))
        sizes = {c: len({r[x_key] for r in rows if tuple(r[k] for k in others) == c}) for c in combos}
        shown = [c for c in combos if sizes[c] > 1] or combos
        numeric = all(_number(r[x_key]) is not None for r in rows)
        categories = list(dict.fromkeys(r[x_key] for r in rows))
        for i, (arm, label) in enumerate(arms):
            for j, combo in enumerate(shown):
                sel = [r for r in rows if r["arm"] == arm and tuple(r[k] for k in others) == combo]
                sel.sort(key=lambda r: _number(r[x_key]) if numeric else categories.index(r[x_key]))
                x = [_number(r[x_key]) if numeric else categories.index(r[x_key]) for r in sel]
                note = ", ".join(f"{k} = {v}" for k, v in zip(others, combo, strict=True))
                name = label + (f" ({note})" if note and len(shown) > 1 else "")
                style = dict(color=f"C{i}", ls=STYLES[j % len(STYLES)], marker="o", capsize=3)
                top, bottom = panels[0, col], panels[1, col]
                top.errorbar(x, [r["final_energy_mean"] for r in sel], [r["final_energy_sd"] for r in sel], **style)
                bottom.errorbar(
                    x, [r["speedup_mean"] for r in sel], [r["speedup_sd"] for r in sel], **style, label=name
                )
        xs = [_number(r[x_key]) for r in rows] if numeric else []
        for row_axes in panels[:, col]:
            if numeric and min(xs) > 0 and max(xs) >= 10 * min(xs):
                row_axes.set_xscale("log")
            if not numeric:
                row_axes.set_xticks(range(len(categories)), categories)
            row_axes.set_xlabel(" = ".join(axis))
        panels[0, col].set_yscale("log", nonpositive="mask")
        panels[0, col].set_ylabel("final energy E (mean ± sd over seeds)")
        panels[1, col].set_ylabel(f"speed-up over {reference} at half the run")
        panels[1, col].legend(fontsize=8)
    return fig


def plot_sweep(run_dir) -> list[Path]:
    """Write ``sweep_table.csv`` and ``sweep.png|pdf`` of a sweep run directory; returns the files written."""
    run_dir = Path(run_dir)
    config = load_sweep_config(run_dir)
    keys, rows = sweep_rows(run_dir)
    table = run_dir / "sweep_table.csv"
    with open(table, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["point", *keys, "arm"])
        writer.writeheader()
        writer.writerows(rows)
    if not rows:
        return [table]
    arms = [(name, config.base.label(name)) for name, _ in config.base.arms]
    return [table, *_save(sweep_figure(keys, rows, arms, config.reference), run_dir / "sweep")]


def table_text(run_dir) -> str:
    """The sweep's points as a printed table: point, swept values, arm, final energy, speed-up."""
    keys, rows = sweep_rows(run_dir)
    if not rows:
        return ""
    head = ["point", *keys, "arm", "final E (mean ± sd)", "speed-up"]
    lines = [head]
    for r in rows:
        speed = f"{r['speedup_mean']:.3g}" + (" (bound)" if r["speedup_bounds"] else "")
        final = f"{r['final_energy_mean']:.4e} ± {r['final_energy_sd']:.1e}"
        lines.append([str(r["point"]), *(str(r[k]) for k in keys), r["arm"], final, speed])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines)
