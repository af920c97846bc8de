"""The Eulerian scheme: one step of the mean-field PDE on a grid density (see :mod:`mfbd.pde`)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from mfbd import _checks
from mfbd.pde.grid import Grid
from mfbd.pde.oracle import grid_oracle, max_dt, oracle_name
from mfbd.problems.base import Evaluation, Problem
from mfbd.schemes.base import Info, OracleTally, Scheme, fixed_order
from mfbd.schemes.splitting import INTEGRATORS, SPLITTINGS, check_order

__all__ = ["LIMITERS", "PDEState", "dissipation_rates", "eulerian_scheme", "solver", "transport_rate"]


class PDEState(NamedTuple):
    """What the next PDE step needs (shapes for an ``[N₀, N₁]`` grid).

    Attributes:
      density: ``[N₀, N₁]`` ρ_c, a probability density (Σ_c ρ_c·h₀h₁ = 1).
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


def eulerian_scheme(
    problem: Problem,
    grid: Grid,
    dt: float,
    alpha: float = 0.0,
    *,
    tau: float = 0.0,
    limiter: str | None = None,
    cfl: float = 0.5,
    oracle: str = "pairwise",
    transport: bool = True,
    splitting: str = "lie",
    integrator: str = "euler",
    path: str | None = None,
    order: int | None = None,
) -> Scheme:
    """The mean-field PDE as a :class:`~mfbd.Scheme` over grid densities.

    ``init(density, key=None) -> PDEState`` normalises ``density`` to mass 1 and
    evaluates V; ``step(key, state) -> (state, Info)`` advances Δt (the key is
    ignored), so :func:`mfbd.simulate` drives it like a particle scheme.
    ``info.energy`` is E(ρ) at the end of the step, ``info.mean_potential`` the
    V̄ of the (last) reaction, ``killed = born = 0``, ``ess`` = 1/Σ_c w_c², the
    effective number of occupied cells, and the lineage fields count each cell
    as a lineage (occupied cells, and ``ess`` again).

    Args:
      problem: a kernel-mode problem with particles ``{names[0]: [n], names[1]: [n]}``.
      grid: the grid (box and resolution); choose the box so little mass reaches its edges.
      dt: time step Δt; at most :func:`max_dt` when there is transport or diffusion.
      alpha: birth-death rate α ≥ 0 (α = 0: the transport PDE); may be a traced value.
      tau: diffusion τ ≥ 0 (mean-field Langevin).
      limiter: None (first-order upwind), ``"minmod"`` or ``"van_leer"``.
      cfl: the Courant bound, in (0, 1/2].
      oracle: ``"pairwise"`` or ``"factorised"`` (see :func:`grid_oracle`).
      transport: False drops transport and diffusion (pure birth-death).
      splitting: ``"lie"`` (T(Δt) then R(Δt)) or ``"strang"`` (R(Δt/2), T(Δt), R(Δt/2)).
      integrator: ``"euler"`` (forward Euler transport, the exact-for-frozen-V
        reaction) or ``"heun"``: SSP-RK2 (Shu–Osher) transport
        ρ¹ = ρ + Δt L(ρ), ρ ← ½ρ + ½(ρ¹ + Δt L(ρ¹)), positive under the same CFL
        rule, and the trapezoid rule for the reaction,
        ρ ← ρ e^{-(αh/2)[(V - V̄) + (V* - V̄*)]} with V* at the frozen-V prediction.
        ``splitting="strang", integrator="heun"`` is second order in time.
      order: 1 (Lie + Euler) or 2 (Strang + Heun) instead of ``splitting`` and
        ``integrator``; ``scheme.order()`` reports the order delivered (2 for Heun
        with Strang, or with no reaction or no transport; else 1).
      path: the old name of ``oracle`` (``"generic"``, ``"output_weight"``), accepted for one release.

    Example:
      >>> import jax, mfbd, mfbd.pde as pde
      >>> problem = mfbd.problems.gaussian_mixture_1d()
      >>> grid = pde.Grid(("y", "c"), (-4, -5), (4, 5), (40, 50))
      >>> dt = pde.max_dt(problem, grid, oracle="factorised")
      >>> scheme = pde.eulerian_scheme(problem, grid, dt, alpha=5.0, oracle="factorised")
      >>> state = scheme.init(pde.start_density(grid, "good"))
      >>> state, trace = mfbd.simulate(jax.random.key(0), scheme, state, 100)
    """
    oracle = oracle_name(path if path is not None else oracle)
    if _checks._is_concrete(dt) and not (float(dt) > 0 and float(dt) < float("inf")):
        raise ValueError(f"dt must be positive, got {dt}")
    _checks.nonnegative("alpha", alpha)
    _checks.choice("limiter", limiter, LIMITERS)
    _checks.choice("splitting", splitting, SPLITTINGS)
    _checks.choice("integrator", integrator, INTEGRATORS)
    check_order(order, dict(splitting=splitting, integrator=integrator))
    if order == 2:
        splitting, integrator = "strang", "heun"
    if not transport and tau > 0:
        raise ValueError("tau > 0 needs transport=True (diffusion is part of the transport step)")
    grid_v = grid_oracle(problem, grid, oracle)
    if transport and _checks._is_concrete(dt):
        limit = max_dt(problem, grid, tau=tau, cfl=cfl, oracle=oracle)
        if dt > limit * (1 + 1e-12):
            raise ValueError(f"dt={dt:.6g} violates the CFL rule (cfl={cfl}): the max allowed dt is {limit:.6g}")
    area = grid.cell_area
    react_at_all = not _checks._is_concrete(alpha) or float(alpha) > 0
    heun = integrator == "heun"

    @jax.jit
    def normalised_state(density):
        density = density / grid.mass(density)
        ev = grid_v.evaluate(density)
        return PDEState(density, ev.potential, ev.grad_potential, ev.energy, jnp.zeros((), jnp.int32))

    def init(density, key=None) -> PDEState:
        del key
        return normalised_state(jnp.asarray(density))

    evaluate = OracleTally(grid_v.evaluate)  # counts the passes of a step

    def transported(rho, potential):
        """Forward Euler or SSP-RK2 for ∂_t ρ = ∇·(ρ∇V) + τΔρ; returns (ρ, Evaluation at ρ)."""
        rho_1 = jnp.maximum(rho + dt * transport_rate(rho, potential, grid, tau=tau, limiter=limiter), 0.0)
        if heun:
            v_1 = evaluate(rho_1).potential
            stage = rho_1 + dt * transport_rate(rho_1, v_1, grid, tau=tau, limiter=limiter)
            rho_1 = jnp.maximum(0.5 * rho + 0.5 * stage, 0.0)
        return rho_1, evaluate(rho_1)  # the max clears round-off only: the CFL rule keeps ρ ≥ 0

    def reacted(rho, potential, h):
        """ρ e^{-αh(V - V̄)} (or the trapezoid rule), rescaled to the mass of ρ; returns (ρ, V̄)."""
        mass = jnp.sum(rho)
        v_bar = jnp.sum(rho * potential) / mass

        def scaled(z):
            factor = jnp.exp(z - jnp.max(jnp.where(rho > 0, z, -jnp.inf)))
            out = rho * factor
            return out * (mass / jnp.sum(out))

        drift = potential - v_bar
        new = scaled(-alpha * h * drift)
        if heun:
            v_star = evaluate(new).potential
            drift_star = v_star - jnp.sum(new * v_star) / jnp.sum(new)
            new = scaled(-alpha * h * (drift + drift_star) / 2)
        return new, v_bar

    def step(key, state: PDEState):
        del key
        evaluate.take()
        rho, ev = state.density, Evaluation(state.potential, state.grad_potential, state.energy)
        if splitting == "strang" and react_at_all:
            rho, _ = reacted(rho, ev.potential, dt / 2)
            ev = evaluate(rho)
        if transport:
            rho, ev = transported(rho, ev.potential)
        v_bar = jnp.sum(rho * ev.potential) / jnp.sum(rho)
        if react_at_all:
            rho, v_bar = reacted(rho, ev.potential, dt / 2 if splitting == "strang" else dt)
            ev = evaluate(rho)
        w = rho * area
        new = PDEState(rho, ev.potential, ev.grad_potential, ev.energy, state.step + 1)
        zero = jnp.zeros((), jnp.int32)
        ess = jnp.sum(w) ** 2 / jnp.sum(w * w)
        info = Info(
            time=(new.step * dt).astype(ev.energy.dtype),
            energy=ev.energy,
            mean_potential=v_bar,
            killed=zero,
            born=zero,
            ess=ess,
            lineages=jnp.sum(w > 0).astype(jnp.int32),
            effective_lineages=ess,
            oracle_passes=jnp.asarray(evaluate.take(), jnp.int32),
        )
        return new, info

    second = heun and (splitting == "strang" or not react_at_all or not transport)
    return Scheme(init, step, fixed_order(2 if second else 1))


#: One-release alias of :func:`eulerian_scheme`.
solver = eulerian_scheme


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
