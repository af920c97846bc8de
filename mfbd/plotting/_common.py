"""Helpers shared by the figure modules (:mod:`mfbd.plotting`, :mod:`mfbd.plotting.sampling`)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def _save(fig: Figure, stem: Path) -> list[Path]:
    """``fig`` as ``stem.png`` (150 dpi) and ``stem.pdf``; returns both paths."""
    FigureCanvasAgg(fig)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    fig.savefig(paths[0], dpi=150)
    fig.savefig(paths[1])
    return paths


def _spread(values: np.ndarray):
    """Mean, min and max over seeds (axis 0), ignoring non-finite entries (an arm that blew up)."""
    values = np.where(np.isfinite(values), values, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # records where every seed is non-finite
        return np.nanmean(values, axis=0), np.nanmin(values, axis=0), np.nanmax(values, axis=0)


def _final(snapshots: list[dict]):
    """Particles and weights of the first seed at the last snapshot."""
    last = snapshots[-1]
    particles = {k: v[0] for k, v in last["particles"].items()}
    weights = np.exp(last["log_weights"][0] - np.logaddexp.reduce(last["log_weights"][0]))
    return particles, weights, int(last["seeds"][0]), last["step"]


def _coordinates(particles: dict) -> tuple[np.ndarray, list[str]]:
    """The particles as an ``[n, d]`` table of their coordinates (leaves flattened in key order) and names."""
    columns, names = [], []
    for key in sorted(particles):
        leaf = np.asarray(particles[key]).reshape(len(particles[key]), -1)
        columns.append(leaf)
        names += [key] if leaf.shape[1] == 1 else [f"{key}[{j}]" for j in range(leaf.shape[1])]
    return np.concatenate(columns, axis=1), names
