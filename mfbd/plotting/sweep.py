"""The sweep figure and table of a sweep run directory (:mod:`mfbd.runner.rundir`).

Per point and arm, over the seeds:

* the final energy E (last record; mean, standard deviation, min, max); an arm
  that stopped on a non-finite value is ``failed``: its last finite energy (mean
  over seeds) and step are kept, and it is drawn as a cross there;
* the speed-up over the reference arm (``[sweep] reference``, default the first
  arm), :func:`mfbd.stats.compare` in the direction ``reference_reaches_arm`` at
  half the run (in mean-field time when recorded, else steps): per seed (the same
  initial particles) the time the reference takes to reach the arm's energy at
  half the run over the arm's; the geometric mean over seeds with a 95 % bootstrap
  interval. When some seed of the reference never gets there, the value is a
  *lower bound* (``speedup_bound = lower``, drawn as ▲); when the arm's never
  does, an upper bound (▼). ``speedup_bounds`` counts the censored seeds.

``sweep_table.csv`` holds these numbers; ``sweep.png|pdf`` draws them against
each swept key (keys whose values are equal at every point share one axis),
one colour per arm (slightly offset along x, so coinciding series stay
visible) and one line style per combination of the other keys (the
combinations with at least two points); the title gives the seeds, the steps
and the number of bounds and failed points. :func:`table_text` is the table
the ``mfbd`` command prints at the end of a sweep.
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
from mfbd.stats import compare

__all__ = ["plot_sweep", "sweep_rows", "sweep_figure", "table_text"]

STYLES = ("-", "--", ":", "-.")
BOUND_MARKERS = {"lower": "^", "upper": "v", "": "o"}


def _x(m: dict) -> np.ndarray:
    """The x-axis of the speed-up: mean-field time when recorded, else the step."""
    return m["time"] if "time" in m else m["step"].astype(float)


def _unmeasured() -> dict:
    none = {"speedup_mean": np.nan, "speedup_low": np.nan, "speedup_high": np.nan, "speedup_sd": np.nan}
    return none | {"speedup_bound": "", "speedup_bounds": 0}


def _speedup(m: dict, ref: dict) -> dict:
    """The paired speed-up of arm ``m`` over ``ref`` at half the run (module docstring), or NaN if unmeasurable."""
    none = _unmeasured()
    half = ref["step"].shape[1] // 2
    energy, reference = m["energy"], ref["energy"]
    usable = energy.shape == reference.shape and half > 0 and np.all(np.isfinite(energy))
    if not usable or not np.all(energy > 0) or not np.all(np.isfinite(reference)):
        return none
    c = float(_x(ref)[0, half])
    result = next(r for r in compare(_x(m), energy, _x(ref), reference, [c]) if r.direction == "reference_reaches_arm")
    per_seed = np.asarray(result.per_seed)
    return {
        "speedup_mean": result.ratio,
        "speedup_low": result.low,
        "speedup_high": result.high,
        "speedup_sd": float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else 0.0,
        "speedup_bound": {"upper": "upper", "lower": "lower"}.get(result.bound, ""),
        "speedup_bounds": result.censored,
    }


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
            complete = np.all(np.isfinite(energy)) and int(steps[-1]) == config.configs[point["point"]].run.steps
            finite = np.isfinite(energy).all(axis=0)
            last = int(np.flatnonzero(finite)[-1]) if finite.any() else 0
            final = energy[:, -1] if complete else np.full(energy.shape[0], np.nan)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                row = {"point": point["point"], **point["values"], "arm": arm, "label": config.base.label(arm)}
                row.update(
                    seeds=energy.shape[0],
                    status="complete" if complete else "failed",
                    final_step=int(steps[-1]),
                    final_energy_mean=float(np.mean(final)),
                    final_energy_sd=float(np.std(final, ddof=1)) if len(final) > 1 else 0.0,
                    final_energy_min=float(np.min(final)),
                    final_energy_max=float(np.max(final)),
                    last_finite_step=int(steps[last]),
                    last_finite_energy=float(np.mean(energy[:, last])) if finite.any() else np.nan,
                    **(_speedup(m, ref) if ref is not None and complete else _unmeasured()),
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


def _offsets(x: list, i: int, count: int, numeric: bool, log: bool) -> list:
    """Shift arm ``i`` of ``count`` a little along x, so series with equal values stay distinguishable."""
    shift = i - (count - 1) / 2
    if not numeric:
        return [v + 0.06 * shift for v in x]
    if log:
        return [v * 10 ** (0.012 * shift) for v in x]
    span = (max(x) - min(x)) if len(x) > 1 and max(x) > min(x) else 1.0
    return [v + 0.012 * span * shift for v in x]


def sweep_figure(keys: list[str], rows: list[dict], arms: list[tuple[str, str]], reference: str, title: str = ""):
    """Final energy (top) and speed-up over ``reference`` (bottom) against each swept axis, per arm: bounds
    as ▲ (lower) and ▼ (upper), failed points as × at their last finite energy."""
    axes_keys = _axes(keys, rows)
    fig = Figure(figsize=(max(5.0 * len(axes_keys), 7.0), 8.0), layout="constrained")
    panels = fig.subplots(2, len(axes_keys), squeeze=False)
    for col, axis in enumerate(axes_keys):
        x_key = axis[0]
        others = [a[0] for a in axes_keys if a is not axis]
        combos = list(dict.fromkeys(tuple(r[k] for k in others) for r in rows))
        sizes = {c: len({r[x_key] for r in rows if tuple(r[k] for k in others) == c}) for c in combos}
        shown = [c for c in combos if sizes[c] > 1] or combos
        numeric = all(_number(r[x_key]) is not None for r in rows)
        categories = list(dict.fromkeys(r[x_key] for r in rows))
        xs = [_number(r[x_key]) for r in rows] if numeric else []
        log = numeric and min(xs) > 0 and max(xs) >= 10 * min(xs)
        top, bottom = panels[0, col], panels[1, col]
        for i, (arm, label) in enumerate(arms):
            for j, combo in enumerate(shown):
                sel = [r for r in rows if r["arm"] == arm and tuple(r[k] for k in others) == combo]
                sel.sort(key=lambda r: _number(r[x_key]) if numeric else categories.index(r[x_key]))
                if not sel:
                    continue
                x = [_number(r[x_key]) if numeric else categories.index(r[x_key]) for r in sel]
                x = _offsets(x, i, len(arms), numeric, log)
                note = ", ".join(f"{k} = {v}" for k, v in zip(others, combo, strict=True))
                name = label + (f" ({note})" if note and len(shown) > 1 else "")
                line = dict(color=f"C{i}", ls=STYLES[j % len(STYLES)])
                ok = [k for k, r in enumerate(sel) if r["status"] == "complete"]
                top.errorbar(
                    [x[k] for k in ok],
                    [sel[k]["final_energy_mean"] for k in ok],
                    [sel[k]["final_energy_sd"] for k in ok],
                    marker="o",
                    capsize=3,
                    **line,
                )
                bad = [k for k, r in enumerate(sel) if r["status"] != "complete"]
                top.plot([x[k] for k in bad], [sel[k]["last_finite_energy"] for k in bad], "x", ms=10, mew=2, **line)
                mean = np.array([r["speedup_mean"] for r in sel])
                spread = np.abs(np.array([[r["speedup_low"], r["speedup_high"]] for r in sel]).T - mean)
                bottom.errorbar(x, mean, np.nan_to_num(spread), capsize=3, label=name, **line)
                for bound, marker in BOUND_MARKERS.items():
                    at = [k for k, r in enumerate(sel) if r["speedup_bound"] == bound]
                    bottom.plot([x[k] for k in at], mean[at], marker, color=f"C{i}", ms=8 if bound else 5)
        for row_axes in panels[:, col]:
            if log:
                row_axes.set_xscale("log")
            if not numeric:
                row_axes.set_xticks(range(len(categories)), categories)
            row_axes.set_xlabel(" = ".join(axis))
        top.set_yscale("log", nonpositive="mask")
        top.set_ylabel("final E (mean ± sd over seeds)")
        bottom.set_ylabel(f"speed-up over {reference} at half the run\n(geometric mean over seeds, 95% CI)")
        bottom.plot([], [], "^", color="k", label="lower bound: the reference never reached")
        bottom.plot([], [], "v", color="k", label="upper bound: the arm never reached")
        top.plot([], [], "x", color="k", ms=10, mew=2, label="failed (non-finite): its last finite E")
        top.legend(fontsize=8)
        bottom.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def _title(config: Sweep, rows: list[dict]) -> str:
    seeds = sorted({r["seeds"] for r in rows})
    steps = sorted({c.run.steps for c in config.configs})
    bounds = sum(bool(r["speedup_bound"]) for r in rows)
    failed = sum(r["status"] != "complete" for r in rows)
    what = f"{config.name}: {'/'.join(map(str, seeds))} seeds, {'/'.join(map(str, steps))} steps"
    return f"{what}\n{bounds} speed-up bound(s), {failed} failed point-arm(s) of {len(rows)}"


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
    figure = sweep_figure(keys, rows, arms, config.reference, _title(config, rows))
    return [table, *_save(figure, run_dir / "sweep")]


def table_text(run_dir) -> str:
    """The sweep's points as a printed table: point, swept values, arm, final energy, speed-up with its
    interval; a bound is marked ≥ or ≤ and a failed point says where it stopped."""
    keys, rows = sweep_rows(run_dir)
    if not rows:
        return ""
    head = ["point", *keys, "arm", "final E (mean ± sd)", "speed-up [95% CI]", "note"]
    lines = [head]
    for r in rows:
        sign = {"lower": "≥ ", "upper": "≤ "}.get(r["speedup_bound"], "")
        speed = "-" if np.isnan(r["speedup_mean"]) else f"{sign}{r['speedup_mean']:.3g}"
        if np.isfinite(r["speedup_low"]):
            speed += f" [{r['speedup_low']:.3g}, {r['speedup_high']:.3g}]"
        final = f"{r['final_energy_mean']:.4e} ± {r['final_energy_sd']:.1e}"
        note = {"lower": "bound: the reference never reached", "upper": "bound: the arm never reached"}
        note = note.get(r["speedup_bound"], "")
        if r["status"] != "complete":
            final = f"{r['last_finite_energy']:.4e} (last finite)"
            note = f"FAILED: non-finite after step {r['last_finite_step']}"
        lines.append([str(r["point"]), *(str(r[k]) for k in keys), r["arm"], final, speed, note])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    text = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines]
    failed = sum(r["status"] != "complete" for r in rows)
    bounds = sum(bool(r["speedup_bound"]) for r in rows)
    return "\n".join([*text, f"{len(rows)} point-arms: {bounds} speed-up bound(s), {failed} failed"])
