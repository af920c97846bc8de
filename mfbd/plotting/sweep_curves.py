"""Per-point energy curves of a sweep: one panel per point, E against mean-field time per arm (mean over
seeds, band min–max); an arm that went non-finite ends with a cross at its last finite value.

``sweep_energy.png|pdf`` of a sweep directory (at most :data:`PANELS` points, the first ones, said in
the title), or ``energy.png|pdf`` of one ``group-NNN`` folder (``mfbd plot RUN/group-NNN``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from mfbd.config.schema import kind_of
from mfbd.config.sweep import read
from mfbd.plotting._common import _save, _spread
from mfbd.runner.rundir import CONFIG, INDEX, read_points

__all__ = ["curves_figure", "plot_curves", "group_of", "PANELS"]

#: The most panels one figure draws.
PANELS = 24


def group_of(path) -> int | None:
    """The group number of a sweep's ``group-NNN`` folder (None if ``path`` is not one)."""
    path = Path(path)
    name = path.name
    if name.startswith("group-") and name[6:].isdigit() and (path.parent / INDEX).is_file():
        return int(name[6:])
    return None


def curves_figure(run_dir, group: int | None = None) -> Figure:
    """The energy curves of every point of a sweep (or of its group ``group``)."""
    config = read(str(Path(run_dir) / CONFIG), force=True)
    points = [p for p in read_points(run_dir) if p["metrics"] and (group is None or p["group"] == group)]
    shown = points[:PANELS]
    columns = min(4, max(len(shown), 1))
    rows = max(math.ceil(len(shown) / columns), 1)
    fig = Figure(figsize=(3.6 * columns, 2.9 * rows), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    meaning = kind_of(config.base.problem).energy_meaning
    for ax, point in zip(axes, shown, strict=False):
        positive = True
        for i, (arm, _) in enumerate(config.base.arms):
            m = point["metrics"].get(arm)
            if m is None:
                continue
            t, energy = m["time"][0] if "time" in m else m["step"][0], m["energy"]
            mean, low, high = _spread(energy)
            ax.plot(t, mean, color=f"C{i}", label=config.base.label(arm))
            ax.fill_between(t, low, high, color=f"C{i}", alpha=0.2, lw=0)
            finite = np.isfinite(energy).all(axis=0)
            if not finite.all() and finite.any():
                last = np.flatnonzero(finite)[-1]
                ax.plot(t[last], mean[last], "x", color=f"C{i}", ms=9, mew=2)
            positive = positive and bool(np.all(energy[np.isfinite(energy)] > 0))
        if positive:
            ax.set_yscale("log", nonpositive="mask")
        values = ", ".join(f"{k.removeprefix('arms.').removeprefix('run.')}={v}" for k, v in point["values"].items())
        ax.set_title(f"point {point['point']}: {values}", fontsize=8)
        ax.set_xlabel("mean-field time t", fontsize=8)
    for ax in axes[len(shown) :]:
        ax.set_visible(False)
    axes[0].set_ylabel(meaning or "energy E", fontsize=8)
    axes[0].legend(fontsize=7)
    where = f"group {group}" if group is not None else "all points"
    more = f" (the first {PANELS} of {len(points)})" if len(points) > PANELS else ""
    fig.suptitle(f"{config.name}, {where}{more}: mean over seeds, band min–max, × non-finite after", fontsize=9)
    return fig


def plot_curves(path) -> list[Path]:
    """``energy.png|pdf`` of a ``group-NNN`` folder, or ``sweep_energy.png|pdf`` of a sweep directory."""
    path = Path(path)
    group = group_of(path)
    if group is not None:
        return _save(curves_figure(path.parent, group), path / "energy")
    return _save(curves_figure(path), path / "sweep_energy")
