"""Figures of sampling runs (``[problem] name = "sampling"``), registered in :mod:`mfbd.plotting`.

* ``particles``: the final particles of the first seed against π. In 1-D a
  weighted histogram per arm over the exact density (normalised on a grid); in
  2-D one panel per arm over the contours of π at the levels of a Gaussian's 1,
  2 and 3 σ (π/max π = e^{-r²/2}); for d > 2 the first two coordinates over
  exact samples. Marker area ∝ n·w_i, so reweighting shows its weights.
* ``sampling_metrics``: MMD², W1, the errors of the mean and covariance and (the
  double well) the mass left of the saddle against t, per arm the mean over
  seeds with a min–max band; the exact mass as a dashed line.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

from mfbd.plotting._common import _coordinates, _final, _spread

__all__ = ["sampling_picture", "sampling_metrics_figure", "METRICS"]

#: The panels of :func:`sampling_metrics_figure`: column, axis label, log scale.
METRICS = (
    ("mmd2", "MMD² (RBF exp(-‖x-y‖²))", True),
    ("w1", "W1 (mean over coordinates)", True),
    ("mean_error", "‖mean error‖", True),
    ("cov_error", "‖covariance error‖_F", True),
    ("mass_left", "mass left of the saddle", False),
)

_LEVELS = np.exp(-0.5 * np.array([3.0, 2.0, 1.0]) ** 2)  # π/max π at a Gaussian's 3, 2 and 1 σ
_GRID = 301


def _box(target, points: np.ndarray, pad: float = 3.5) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper corners covering π (mean ± pad·sd) and the particles."""
    sd = np.sqrt(np.diag(target.covariance))
    low = np.minimum(target.mean - pad * sd, points.min(axis=0))
    high = np.maximum(target.mean + pad * sd, points.max(axis=0))
    margin = 0.05 * (high - low)
    return low - margin, high + margin


def _density(target, grid: np.ndarray) -> np.ndarray:
    """π/max π at the rows of ``grid`` ``[m, d]``."""
    log_p = np.asarray(jax.vmap(target.log_density)(jnp.asarray(grid)))
    return np.exp(log_p - log_p.max())


def _one_d(config, target, finals, arms) -> Figure:
    fig = Figure(figsize=(6.5, 4.2), layout="constrained")
    ax = fig.subplots()
    low, high = _box(target, np.concatenate([f[0] for f in finals.values()]))
    x = np.linspace(low[0], high[0], 2001)
    p = _density(target, x[:, None])
    ax.plot(x, p / np.trapezoid(p, x), color="black", lw=2.0, alpha=0.6, label="exact density π")
    bins = np.linspace(low[0], high[0], 61)
    for i, name in arms:
        particles, weights, seed, step = finals[name]
        label = f"{config.label(name)} (step {step})"
        ax.hist(particles[:, 0], bins=bins, weights=weights, density=True, histtype="step", color=f"C{i}", label=label)
    if "saddle" in target.extras:
        ax.axvline(target.extras["saddle"], color="gray", ls=":", lw=1.0)
    ax.set(xlabel="θ", ylabel="density", title=f"particles against π (seed {seed})")
    ax.legend(fontsize=8)
    return fig


def _two_d(config, target, finals, arms) -> Figure:
    fig = Figure(figsize=(4.2 * len(arms), 4.4), layout="constrained")
    axes = fig.subplots(1, len(arms), squeeze=False, sharex=True, sharey=True)[0]
    low, high = _box(target, np.concatenate([f[0][:, :2] for f in finals.values()]))
    if target.dim == 2:
        gx, gy = np.meshgrid(np.linspace(low[0], high[0], _GRID), np.linspace(low[1], high[1], _GRID))
        p = _density(target, np.stack([gx.ravel(), gy.ravel()], axis=1)).reshape(gx.shape)
        background = "contours of π at 1, 2, 3 σ levels"
    else:
        exact = np.asarray(target.sample(jax.random.key(0), 2000))[:, :2] if target.sample is not None else None
        background = "exact samples" if exact is not None else "no exact sampler"
    for ax, (i, name) in zip(axes, arms, strict=True):
        particles, weights, seed, step = finals[name]
        if target.dim == 2:
            ax.contourf(gx, gy, p, levels=[*_LEVELS, 1.0], cmap="Greys", alpha=0.35)
            ax.contour(gx, gy, p, levels=_LEVELS, colors="gray", linewidths=0.7)
        elif exact is not None:
            ax.scatter(exact[:, 0], exact[:, 1], s=2, color="lightgray")
        size = 10.0 * len(weights) * weights
        ax.scatter(particles[:, 0], particles[:, 1], s=size, alpha=0.6, color=f"C{i}", lw=0)
        ax.set(title=f"{config.label(name)}: step {step} (seed {seed})", xlabel="θ₁")
    axes[0].set_ylabel("θ₂")
    fig.suptitle(f"particles (area ∝ n·w) over {background}", fontsize=10)
    return fig


def sampling_picture(config, problem, snapshots: dict[str, list[dict]], arms) -> Figure:
    """The final particles of the first seed against the target π (see the module docstring)."""
    target = problem.meta.target
    finals = {}
    for _, name in arms:
        particles, weights, seed, step = _final(snapshots[name])
        finals[name] = (_coordinates(particles)[0], weights, seed, step)
    return (_one_d if target.dim == 1 else _two_d)(config, target, finals, arms)


def sampling_metrics_figure(config, problem, metrics: dict) -> Figure:
    """The sampling metrics against t: mean over seeds, min–max band (see the module docstring)."""
    target = problem.meta.target
    panels = [p for p in METRICS if any(p[0] in m for m in metrics.values())]
    fig = Figure(figsize=(4.3 * len(panels), 3.9), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (column, label, log) in zip(axes, panels, strict=True):
        for i, (name, _) in enumerate(config.arms):
            if column not in metrics.get(name, {}):
                continue
            t, values = metrics[name]["time"][0], metrics[name][column]
            mean, low, high = _spread(values)
            ax.plot(t, mean, color=f"C{i}", label=config.label(name))
            if values.shape[0] > 1:
                ax.fill_between(t, low, high, color=f"C{i}", alpha=0.2, lw=0)
        if column == "mass_left":
            ax.axhline(target.extras["mass_left"], color="black", ls="--", lw=1.0, label="exact")
        if log:
            ax.set_yscale("log", nonpositive="mask")
        ax.set(xlabel="mean-field time t", ylabel=label)
    axes[0].legend(fontsize=8)
    seeds = len(config.run.seed_list)
    fig.suptitle(f"{config.name}: mean over {seeds} seed{'s' * (seeds > 1)}, band min–max", fontsize=10)
    return fig
