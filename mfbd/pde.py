"""An Eulerian solver for the mean-field PDE on a two-dimensional θ.

It solves, for a density ρ on a rectangular grid over θ = (θ₀, θ₁),

.. math::

   ∂_t ρ = ∇·(ρ ∇V) - α (V - \\bar V) ρ + τ Δρ, \\qquad
   V(θ, ρ) = -F(θ) + ∫ K(θ, θ') ρ(dθ'), \\quad \\bar V = ∫ V dρ,

the limit n → ∞ of the particle schemes (α = 0: gradient flow; τ > 0: the
Langevin variant). A grid density is a weighted particle set: cell centres θ_c
with weights w_c = ρ_c·|cell|, so V, ∇V and E(ρ) come from the problem's own
oracle by midpoint quadrature (``path="generic"``, O(G²) pairs for G cells).
For units φ = c·φ̂(·, y) (experiment 1), V(y, c) = c·U(y) with
U(y) = -F̂(y) + Σ_y' K̂(y, y') m(y') and m(y) = Σ_c c w_{y,c}, which
``path="output_weight"`` evaluates in O(N_y² + N_y N_c).

One step of size Δt (Lie splitting, the particle schemes' order):

1. **transport** (forward Euler, finite volumes): on the face between cells i
   and i+1 along axis d the velocity is u = -(V_{i+1} - V_i)/h_d and the flux
   u⁺ρ_i^+ + u⁻ρ_{i+1}^- - τ(ρ_{i+1} - ρ_i)/h_d, with ρ^± the cell values
   (first-order upwind) or a minmod / van Leer limited linear reconstruction;
   boundary faces carry no flux, so mass stays in the box;
2. one oracle pass at the transported density ρ*;
3. **reaction**, exact for frozen V: ρ ← ρ* e^{-αΔt(V - V̄)}, rescaled to the
   mass of ρ*; then one more oracle pass so that the state's V, ∇V and E belong
   to its density.

Positivity and the CFL rule: V is affine in ρ, so for any probability density
on the grid every face speed is bounded by s_d, the largest
|V(θ_{i+1}, δ_θ) - V(θ_i, δ_θ)|/h_d over faces and point masses δ_θ at cell
centres. A cell loses at most 2Δt Σ_d (s_d/h_d + τ/h_d²) of its mass per step
(outflow through both of its faces, with ρ^+ + ρ^- = 2ρ_i for the limited
reconstructions), so the density stays non-negative for every t whenever the
Courant number Δt·Σ_d (s_d/h_d + τ/h_d²) ≤ cfl ≤ 1/2.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mfbd.problems.base import Evaluation, Problem
from mfbd.schemes.base import Info, Scheme

__all__ = [
    "Grid",
    "GridOracle",
    "PDEState",
    "LIMITERS",
    "PATHS",
    "START_LAWS",
    "grid_oracle",
    "max_dt",
    "solver",
    "start_density",
    "product_density",
    "dissipation_rates",
    "transport_rate",
]

PATHS = ("generic", "output_weight")


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
        """|cell| = h₀·h₁."""
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
        """∫ρ = Σ_c ρ_c |cell|."""
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


class GridOracle(NamedTuple):
    """V, ∇V and E at a grid density, and the CFL speed bounds.

    Attributes:
      evaluate: ``density [N₀, N₁] -> Evaluation`` with ``potential`` ``[N₀, N₁]``,
        ``grad_potential`` ``{name: [N₀, N₁]}`` (at cell centres) and ``energy``.
      speeds: ``(s₀, s₁)``, bounds on |face velocity| along each axis valid for
        every probability density on the grid.
    """

    evaluate: Callable[[jax.Array], Evaluation]
    speeds: tuple[float, float]


def _check_problem(problem: Problem, grid: Grid):
    if problem.mode != "kernel":
        raise ValueError(f"the PDE solver needs a kernel-mode problem (deterministic V); {problem.name} is data-mode")
    probe = jax.eval_shape(lambda key: problem.init_particles(key, 2), jax.random.key(0))
    if not isinstance(probe, dict) or set(probe) != set(grid.names) or any(jnp.ndim(v) != 1 for v in probe.values()):
        keys = sorted(probe) if isinstance(probe, dict) else type(probe).__name__
        raise ValueError(f"Grid.names {grid.names} must be the problem's two scalar particle keys, got {keys}")


def _generic_oracle(problem: Problem, grid: Grid) -> GridOracle:
    """V and E from ``problem.evaluate`` at the cell centres with weights ρ_c|cell|; O(G²)."""
    shape, area, names = grid.shape, grid.cell_area, grid.names
    key = jax.random.key(0)

    def evaluate(density):
        w = (density * area).reshape(-1)
        ev = problem.evaluate(grid.centres(density.dtype), w, key)
        grad = {name: ev.grad_potential[name].reshape(shape) for name in names}
        return Evaluation(ev.potential.reshape(shape), grad, ev.energy)

    # V(θ_i, δ_θj) for every cell i and one point mass j, from a two-unit evaluation.
    centres = grid.centres()
    unit_mass = jnp.asarray([0.0, 1.0], centres[names[0]].dtype)

    def point_mass_potential(theta_i, theta_j):
        pair = {name: jnp.stack([theta_i[name], theta_j[name]]) for name in names}
        return problem.evaluate(pair, unit_mass, key).potential[0]

    def face_speeds(theta_j):
        v = jax.vmap(point_mass_potential, in_axes=(0, None))(centres, theta_j).reshape(shape)
        return jnp.stack([jnp.max(jnp.abs(jnp.diff(v, axis=d))) / grid.spacing[d] for d in (0, 1)])

    speeds = jax.jit(lambda thetas: jnp.max(jax.lax.map(face_speeds, thetas, batch_size=64), axis=0))(centres)
    return GridOracle(jax.jit(evaluate), tuple(float(s) for s in speeds))


def _output_weight_oracle(problem: Problem, grid: Grid) -> GridOracle:
    """V = c·U(y) with U = -F̂ + K̂ m, from F̂, K̂ and C_f read off the oracle once; O(N_y² + N_y N_c)."""
    name_y, name_c = grid.names
    ys, cs = grid.axes()
    ny = ys.shape[0]
    key = jax.random.key(0)

    def units(y, c, w):
        return problem.evaluate({name_y: y, name_c: c}, w, key)

    @jax.jit
    def tables(ys, probe_y, probe_c, probe_w):
        # The empty measure gives V = -F and E = C_f; a unit mass at (y', 1) gives -F̂(y) + K̂(y, y').
        empty = units(ys, jnp.ones_like(ys), jnp.zeros_like(ys))
        f_hat, df_hat = -empty.potential, -empty.grad_potential[name_y]

        def pair(y, y_other):
            ev = units(jnp.stack([y, y_other]), jnp.ones(2, ys.dtype), jnp.asarray([0.0, 1.0], ys.dtype))
            return ev.potential[0], ev.grad_potential[name_y][0]

        v_pair, dv_pair = jax.vmap(jax.vmap(pair, in_axes=(None, 0)), in_axes=(0, None))(ys, ys)
        probe = units(probe_y, probe_c, probe_w).potential
        return f_hat, df_hat, empty.energy, v_pair + f_hat[:, None], dv_pair + df_hat[:, None], probe

    # One pass over the grid's y and four probe units (y, c, w) that check the factorisation.
    fractions = np.asarray([0.2, 0.45, 0.7, 0.9])
    probe_y = grid.lower[0] + fractions * (grid.upper[0] - grid.lower[0])
    probe_c = grid.lower[1] + fractions[::-1] * (grid.upper[1] - grid.lower[1])
    probe_w = np.asarray([0.1, 0.2, 0.3, 0.4])
    out = tables(*(jnp.asarray(a) for a in (np.concatenate([ys, probe_y]), probe_y, probe_c, probe_w)))
    f_hat, df_hat, c_f, k_hat, dk_hat, probe = (np.asarray(a, np.float64) for a in out)
    factorised = probe_c * (-f_hat[ny:] + k_hat[ny:, ny:] @ (probe_w * probe_c))
    if not np.allclose(probe, factorised, rtol=1e-5, atol=1e-6 * (1 + np.max(np.abs(probe)))):
        raise ValueError(
            f"path='output_weight' needs V(θ) = {name_c}·U({name_y}) with K = {name_c}{name_c}'·K̂; "
            f"{problem.name} is not of that form: use path='generic'"
        )
    f_hat, df_hat, k_hat, dk_hat = f_hat[:ny], df_hat[:ny], k_hat[:ny, :ny], dk_hat[:ny, :ny]
    area = grid.cell_area

    def evaluate(density):
        f, df, k, dk, c = (jnp.asarray(a, density.dtype) for a in (f_hat, df_hat, k_hat, dk_hat, cs))
        m = (density * area) @ c  # m(y) = Σ_c c w_{y,c}
        u, du = -f + k @ m, -df + dk @ m
        energy = jnp.asarray(c_f, density.dtype) - f @ m + 0.5 * m @ (k @ m)
        grad = {name_y: du[:, None] * c[None, :], name_c: jnp.broadcast_to(u[:, None], density.shape)}
        return Evaluation(u[:, None] * c[None, :], grad, energy)

    # Face speeds over point masses (y', c'): V is affine in c', so c' at the two extreme centres suffices.
    # A y-face moves at -c·ΔU/h_y, a c-face at -U (V is linear in c).
    u_point = -f_hat[None, :, None] + np.asarray([cs[0], cs[-1]])[:, None, None] * k_hat[None]  # [2, y, y']
    speed_y = np.max(np.abs(cs)) * np.max(np.abs(np.diff(u_point, axis=1))) / grid.spacing[0]
    speed_c = np.max(np.abs(u_point))
    return GridOracle(jax.jit(evaluate), (float(speed_y), float(speed_c)))


@functools.lru_cache(maxsize=32)
def grid_oracle(problem: Problem, grid: Grid, path: str = "generic") -> GridOracle:
    """The :class:`GridOracle` of ``problem`` on ``grid`` (cached per problem, grid and path).

    Args:
      problem: a kernel-mode problem whose particles are ``{names[0]: [n], names[1]: [n]}``.
      grid: the grid.
      path: ``"generic"`` (any such problem, O(G²) per evaluation) or
        ``"output_weight"`` (φ = c·φ̂(·, y) with c = ``names[1]``, e.g. experiment 1).
    """
    if path not in PATHS:
        raise ValueError(f"unknown path {path!r}; choose one of {list(PATHS)}")
    _check_problem(problem, grid)
    return _generic_oracle(problem, grid) if path == "generic" else _output_weight_oracle(problem, grid)


def max_dt(problem: Problem, grid: Grid, *, tau: float = 0.0, cfl: float = 0.5, path: str = "generic") -> float:
    """The largest Δt with Δt·Σ_d (s_d/h_d + τ/h_d²) ≤ cfl (positivity for all time; module docstring)."""
    if not 0 < cfl <= 0.5:
        raise ValueError(f"cfl must be in (0, 0.5] for a positive scheme, got {cfl}")
    if not np.isfinite(tau) or tau < 0:
        raise ValueError(f"tau (diffusion τ) must be ≥ 0, got {tau}")
    speeds = grid_oracle(problem, grid, path).speeds
    rate = sum(s / h + tau / h**2 for s, h in zip(speeds, grid.spacing, strict=True))
    return cfl / rate if rate > 0 else math.inf


class PDEState(NamedTuple):
    """What the next PDE step needs (shapes for an ``[N₀, N₁]`` grid).

    Attributes:
      density: ``[N₀, N₁]`` ρ_c, a probability density (Σ ρ_c|cell| = 1).
      potential: ``[N₀, N₁]`` V(θ_c, ρ) at the cell centres.
      grad_potential: ``{name: [N₀, N₁]}`` ∇_θ V(θ_c, ρ).
      energy: scalar E(ρ).
      step: int32 step counter.
    """

    density: jax.Array
    potential: jax.Array
    grad_potential: Any
    energy: jax.Array
    step: jax.Array


def _minmod(a, b):
    return jnp.where(a * b > 0, jnp.sign(a) * jnp.minimum(jnp.abs(a), jnp.abs(b)), 0.0)


def _van_leer(a, b):
    ab = a * b
    return jnp.where(ab > 0, 2 * ab / jnp.where(ab > 0, a + b, 1.0), 0.0)


#: Slope limiters for the linear reconstruction; None is first-order upwind.
LIMITERS = {None: None, "minmod": _minmod, "van_leer": _van_leer}


def _face_values(rho, limiter):
    """``(ρ^-, ρ^+)``: each cell's value at its lower and upper face along axis 0."""
    if limiter is None:
        return rho, rho
    d = jnp.diff(rho, axis=0)
    zero = jnp.zeros_like(rho[:1])
    slope = LIMITERS[limiter](jnp.concatenate([zero, d]), jnp.concatenate([d, zero]))
    return rho - slope / 2, rho + slope / 2


def _flux_divergence(rho, potential, h, tau, limiter):
    """-(F_{i+1/2} - F_{i-1/2})/h along axis 0, zero flux through the two boundary faces."""
    u = -jnp.diff(potential, axis=0) / h
    lower, upper = _face_values(rho, limiter)
    flux = jnp.maximum(u, 0) * upper[:-1] + jnp.minimum(u, 0) * lower[1:]
    if tau > 0:
        flux = flux - tau * jnp.diff(rho, axis=0) / h
    flux = jnp.pad(flux, ((1, 1), (0, 0)))
    return -jnp.diff(flux, axis=0) / h


def transport_rate(density, potential, grid: Grid, *, tau: float = 0.0, limiter: str | None = None):
    """The finite-volume ∂_t ρ = ∇·(ρ∇V) + τΔρ on ``grid`` (``[N₀, N₁]``; module docstring)."""
    h0, h1 = grid.spacing
    rate0 = _flux_divergence(density, potential, h0, tau, limiter)
    return rate0 + _flux_divergence(density.T, potential.T, h1, tau, limiter).T


def solver(
    problem: Problem,
    grid: Grid,
    dt: float,
    alpha: float = 0.0,
    *,
    tau: float = 0.0,
    limiter: str | None = None,
    cfl: float = 0.5,
    path: str = "generic",
    transport: bool = True,
) -> Scheme:
    """The mean-field PDE as a :class:`~mfbd.Scheme` over grid densities.

    ``init(density, key=None) -> PDEState`` normalises ``density`` to mass 1 and
    evaluates V; ``step(key, state) -> (state, Info)`` advances Δt (the key is
    ignored), so :func:`mfbd.simulate` drives it like a particle scheme.
    ``info.energy`` is E(ρ) at the end of the step, ``info.mean_potential`` the
    V̄ of the reaction, ``killed = born = 0`` and ``ess`` = 1/Σ_c w_c², the
    effective number of occupied cells.

    Args:
      problem: a kernel-mode problem with particles ``{names[0]: [n], names[1]: [n]}``.
      grid: the grid (box and resolution); choose the box so little mass reaches its edges.
      dt: time step Δt; at most :func:`max_dt` when there is transport or diffusion.
      alpha: birth-death rate α ≥ 0 (α = 0: the transport PDE).
      tau: diffusion τ ≥ 0 (mean-field Langevin).
      limiter: None (first-order upwind), ``"minmod"`` or ``"van_leer"``.
      cfl: the Courant bound, in (0, 1/2].
      path: ``"generic"`` or ``"output_weight"`` (see :func:`grid_oracle`).
      transport: False drops transport and diffusion (pure birth-death).

    Example:
      >>> import jax, mfbd, mfbd.pde as pde
      >>> problem = mfbd.problems.gaussian_mixture_1d()
      >>> grid = pde.Grid(("y", "c"), (-4, -5), (4, 5), (40, 50))
      >>> dt = pde.max_dt(problem, grid, path="output_weight")
      >>> scheme = pde.solver(problem, grid, dt, alpha=5.0, path="output_weight")
      >>> state = scheme.init(pde.start_density(grid, "good"))
      >>> state, trace = mfbd.simulate(jax.random.key(0), scheme, state, 100)
    """
    if not np.isfinite(dt) or dt <= 0:
        raise ValueError(f"dt must be positive, got {dt}")
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha must be ≥ 0, got {alpha}")
    if limiter not in LIMITERS:
        raise ValueError(f"unknown limiter {limiter!r}; choose one of {list(LIMITERS)}")
    if not transport and tau > 0:
        raise ValueError("tau > 0 needs transport=True (diffusion is part of the transport step)")
    oracle = grid_oracle(problem, grid, path)
    if transport:
        limit = max_dt(problem, grid, tau=tau, cfl=cfl, path=path)
        if dt > limit * (1 + 1e-12):
            raise ValueError(f"dt={dt:.6g} violates the CFL rule (cfl={cfl}): the max allowed dt is {limit:.6g}")
    area = grid.cell_area

    @jax.jit
    def normalised_state(density):
        density = density / grid.mass(density)
        ev = oracle.evaluate(density)
        return PDEState(density, ev.potential, ev.grad_potential, ev.energy, jnp.zeros((), jnp.int32))

    def init(density, key=None) -> PDEState:
        del key
        return normalised_state(jnp.asarray(density))

    def step(key, state: PDEState):
        del key
        rho, ev = state.density, Evaluation(state.potential, state.grad_potential, state.energy)
        if transport:
            rho = rho + dt * transport_rate(rho, ev.potential, grid, tau=tau, limiter=limiter)
            rho = jnp.maximum(rho, 0.0)  # clears round-off only: the CFL rule keeps ρ ≥ 0
            ev = oracle.evaluate(rho)
        mass = jnp.sum(rho)
        v_bar = jnp.sum(rho * ev.potential) / mass
        if alpha > 0:
            z = -alpha * dt * (ev.potential - v_bar)
            factor = jnp.exp(z - jnp.max(jnp.where(rho > 0, z, -jnp.inf)))
            rho = rho * factor
            rho = rho * (mass / jnp.sum(rho))
            ev = oracle.evaluate(rho)
        w = rho * area
        new = PDEState(rho, ev.potential, ev.grad_potential, ev.energy, state.step + 1)
        zero = jnp.zeros((), jnp.int32)
        info = Info(
            time=(new.step * dt).astype(ev.energy.dtype),
            energy=ev.energy,
            mean_potential=v_bar,
            killed=zero,
            born=zero,
            ess=jnp.sum(w) ** 2 / jnp.sum(w * w),
        )
        return new, info

    return Scheme(init, step)


def dissipation_rates(state: PDEState, grid: Grid) -> tuple[jax.Array, jax.Array]:
    """``(∫|∇V|² dρ, ∫(V - V̄)² dρ)`` by midpoint quadrature, so that

    .. math:: dE/dt = -∫|∇V|² dρ - α ∫(V - \\bar V)² dρ .
    """
    w = state.density * grid.cell_area
    w = w / jnp.sum(w)
    grad_sq = sum(g * g for g in jax.tree_util.tree_leaves(state.grad_potential))
    v = state.potential
    v_bar = jnp.sum(w * v)
    return jnp.sum(w * grad_sq), jnp.sum(w * (v - v_bar) ** 2)


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
    if start not in START_LAWS:
        raise ValueError(f"unknown start {start!r}; choose one of {sorted(START_LAWS)}")
    if set(grid.names) != {"y", "c"}:
        raise ValueError(f"start_density needs a grid over ('y', 'c'), got names {grid.names}")
    return product_density(grid, tuple(START_LAWS[start][name] for name in grid.names))
