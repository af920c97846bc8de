"""Figures of a run directory of either layout (PNG and PDF, drawn with matplotlib's Agg canvas).

:func:`plot` draws what a directory holds: a run's ``energy`` and ``particles`` figures
(:mod:`mfbd.plotting.run`; sampling mode adds :mod:`mfbd.plotting.sampling`'s), or a
sweep's table and figure (:mod:`mfbd.plotting.sweep`). Figures read the run directory
through :mod:`mfbd.runner.rundir` and the config through :mod:`mfbd.config` only.
"""

from __future__ import annotations

from pathlib import Path

from mfbd.plotting.run import (
    METRIC_FIGURES,
    PICTURES,
    _save,
    energy_figure,
    generic_picture,
    particles_figure,
    plot_run,
)
from mfbd.plotting.sweep import plot_sweep, sweep_figure, sweep_rows
from mfbd.plotting.sweep_curves import group_of, plot_curves
from mfbd.runner.rundir import layout

__all__ = ["plot", "plot_run", "plot_sweep", "energy_figure", "particles_figure", "generic_picture", "PICTURES"]
__all__ += ["METRIC_FIGURES", "sweep_figure", "sweep_rows"]
_ = _save  # shared with the figure modules


def plot(run_dir) -> list[Path]:
    """(Re)draw the figures of a run or sweep directory (:func:`plot_run`, or :func:`plot_sweep` and the
    per-point curves), or of a sweep's ``group-NNN`` folder (its points' curves, :mod:`.sweep_curves`)."""
    if group_of(run_dir) is not None:
        return plot_curves(run_dir)
    return [*plot_sweep(run_dir), *plot_curves(run_dir)] if layout(run_dir) == "sweep" else plot_run(run_dir)
