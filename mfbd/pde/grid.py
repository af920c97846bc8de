"""The grid of the Eulerian solver: cells over θ = (θ₀, θ₁), histograms and experiment 1's starts."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from mfbd import _checks

__all__ = ["Grid", "START_LAWS", "product_density", "start_density"]


@dataclasses.dataclass(frozen=True)
class Grid:
    """A rectangular grid of cells over θ = (θ₀, θ₁).

    Attributes:
      names: the two particle keys, e.g. ``("y", "c")``; axis d of a density is ``names[d]``.
      lower, upper: the box [lower₀, upper₀] × [lower₁, upper₁].
      shape: ``(N₀, N₁)`` cells; a density is an ``[N₀, N₁]`` array of values ρ_c.
    """

    names: tuple[str, str]
    lower: tuple[float, float]
    upper: tuple[float, float]
    shape: tuple[int, int]

    def __post_init__(self):
        for field in ("names", "lower", "upper", "shape"):
            value = tuple(getattr(self, field))
            if len(value) != 2:
                raise ValueError(f"Grid.{field} needs two entries (one per axis of θ), got {value!r}")
            object.__setattr__(self, field, value)
        if self.names[0] == self.names[1]:
            raise ValueError(f"Grid.names must be two different particle keys, got {self.names!r}")
        if any(int(n) != n or n < 3 for n in self.shape):
            raise ValueError(f"Grid.shape needs at least 3 cells per axis, got {self.shape!r}")
        if any(not hi > lo for lo, hi in zip(self.lower, self.upper, strict=True)):
            raise ValueError(f"Grid needs upper > lower on both axes, got lower={self.lower}, upper={self.upper}")
        object.__setattr__(self, "shape", tuple(int(n) for n in self.shape))
        object.__setattr__(self, "lower", tuple(float(x) for x in self.lower))
        object.__setattr__(self, "upper", tuple(float(x) for x in self.upper))

    @property
    def spacing(self) -> tuple[float, float]:
        """Cell widths (h₀, h₁)."""
        return tuple((hi - lo) / n for lo, hi, n in zip(self.lower, self.upper, self.shape, strict=True))

    @property
    def cell_area(self) -> float:
        """The area of one cell, h₀·h₁."""
        return self.spacing[0] * self.spacing[1]

    def edges(self, axis: int) -> np.ndarray:
        """``[N_axis + 1]`` face coordinates along ``axis``."""
        return np.linspace(self.lower[axis], self.upper[axis], self.shape[axis] + 1)

    def axes(self) -> tuple[np.ndarray, np.ndarray]:
        """The cell-centre coordinates along each axis, ``[N₀]`` and ``[N₁]``."""
        return tuple((e[1:] + e[:-1]) / 2 for e in (self.edges(0), self.edges(1)))

    def centres(self, dtype=None) -> dict:
        """The cell centres as particles ``{names[0]: [G], names[1]: [G]}``, G = N₀N₁, row-major."""
        a0, a1 = np.meshgrid(*self.axes(), indexing="ij")
        return {name: jnp.asarray(a.reshape(-1), dtype) for name, a in zip(self.names, (a0, a1), strict=True)}

    def mass(self, density: jax.Array) -> jax.Array:
        """∫ρ = Σ_c ρ_c·h₀h₁."""
        return jnp.sum(density) * self.cell_area

    def histogram(self, particles, weights: jax.Array) -> jax.Array:
        """The ``[N₀, N₁]`` density of μ = Σ_i w_i δ_{θ_i} binned on the cells.

        Particles outside the box are counted in the nearest edge cell (the
        solver's zero-flux boundary keeps that mass in the box too).
        """
        index = []
        for d, name in enumerate(self.names):
            x = particles[name]
            i = jnp.floor((x - self.lower[d]) / self.spacing[d]).astype(jnp.int32)
            index.append(jnp.clip(i, 0, self.shape[d] - 1))
        flat = index[0] * self.shape[1] + index[1]
        counts = jax.ops.segment_sum(weights, flat, num_segments=self.shape[0] * self.shape[1])
        return counts.reshape(self.shape) / self.cell_area


def product_density(grid: Grid, cdfs: tuple[Callable, Callable]) -> jax.Array:
    """Cell averages of the product law with marginal CDFs ``cdfs`` (one per axis), normalised to mass 1 in the box."""
    masses = [np.diff(np.asarray(cdf(grid.edges(d)), float)) for d, cdf in enumerate(cdfs)]
    cell_mass = np.outer(*masses)
    return jnp.asarray(cell_mass / (cell_mass.sum() * grid.cell_area))


def _uniform_cdf(lo, hi):
    return lambda x: np.clip((x - lo) / (hi - lo), 0.0, 1.0)


def _normal_cdf(mean, std):
    erf = np.vectorize(math.erf)
    return lambda x: 0.5 * (1.0 + erf((np.asarray(x) - mean) / (std * math.sqrt(2.0))))


#: The paper's starts for experiment 1 (``mfbd.problems.gaussian_mixture.STARTS``) as marginal CDFs of y and c.
START_LAWS = {
    "good": {"y": _uniform_cdf(-2.0, 2.0), "c": _normal_cdf(0.0, 1.0)},
    "bad": {"y": _normal_cdf(-2.0, 0.1), "c": _normal_cdf(0.0, 1.0)},
}


def start_density(grid: Grid, start: str = "good") -> jax.Array:
    """Experiment 1's initial density on ``grid`` (names ``y`` and ``c``), as exact cell averages.

    ``"good"``: y ~ U[-2, 2], c ~ N(0, 1); ``"bad"``: y ~ N(-2, 0.1²), c ~ N(0, 1);
    normalised to mass 1 in the box.
    """
    _checks.choice("start", start, sorted(START_LAWS))
    if set(grid.names) != {"y", "c"}:
        raise ValueError(f"start_density needs a grid over ('y', 'c'), got names {grid.names}")
    return product_density(grid, tuple(START_LAWS[start][name] for name in grid.names))
