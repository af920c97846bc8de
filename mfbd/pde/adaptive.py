"""Adaptive Δt for the Eulerian solver: the controller of :mod:`mfbd.adaptive` around a Heun step of the PDE.

The grid density solves the method-of-lines ODE of :mod:`mfbd.pde` (transport, reaction and
diffusion unsplit),

.. math:: dρ/dt = f(ρ) = L(ρ; V) - α ρ (V - \\bar V), \\quad \\bar V = Σ_c ρ_c V_c / Σ_c ρ_c,

with L the finite-volume transport of :func:`mfbd.pde.transport_rate`. One attempt is a first-same-as-last
Heun step (f(ρ) from the V the state carries; two oracle passes, at ρ* and at ρ'):

.. math:: ρ^* = ρ + Δt f(ρ), \\qquad ρ' = ρ + \\tfrac{Δt}{2}(f(ρ) + f(ρ^*)),

and ρ' - ρ* is the local error of the Euler result, scaled as
:math:`err = \\sqrt{\\mathrm{mean}_c ((ρ'_c - ρ^*_c)/(atol + rtol \\max(|ρ_c^*|, |ρ'_c|)))^2}` (the grid's
densities are O(1)). The PI controller, the step budget and the records at fixed mean-field times are those
of :func:`mfbd.schemes.adaptive.controller`; every Δt is also capped at the CFL limit :func:`mfbd.pde.max_dt`
(cfl = 1/2 by default: the transport of the SSP stage stays positive). The fixed-Δt solver
(:func:`mfbd.pde.eulerian_scheme`) discretises the same ODE, so both converge to one semi-discrete solution.
"""

from __future__ import annotations

import jax.numpy as jnp

from mfbd import _checks
from mfbd.pde.grid import Grid
from mfbd.pde.oracle import grid_oracle, max_dt
from mfbd.pde.scheme import LIMITERS, PDEState, transport_rate
from mfbd.problems.base import Problem
from mfbd.schemes.adaptive import Adaptive, check_controller, controller, start

__all__ = ["eulerian_adaptive"]


def eulerian_adaptive(
    problem: Problem,
    grid: Grid,
    alpha: float = 0.0,
    *,
    rtol: float = 1e-4,
    atol: float = 1e-6,
    dt0: float | None = None,
    max_steps: int = 100_000,
    tau: float = 0.0,
    limiter: str | None = None,
    cfl: float = 0.5,
    oracle: str = "pairwise",
    safety: float = 0.9,
    factor_min: float = 0.2,
    factor_max: float = 5.0,
) -> Adaptive:
    """Adaptive-Δt solution of the mean-field PDE on ``grid`` (module docstring).

    ``init(density, key=None)`` normalises the density to mass 1; drive it with
    :func:`mfbd.adaptive.simulate_adaptive` (records: E(ρ), V̄, the effective number of occupied cells as
    ``ess``, occupied cells as ``lineages``, the mass, and the controller's ``dt``, ``dt_accepted``,
    ``accepted``, ``rejected``). Arguments as :func:`mfbd.pde.eulerian_scheme` and
    :func:`mfbd.adaptive.adaptive`; ``dt0`` defaults to the CFL limit.
    """
    _checks.nonnegative("alpha", alpha)
    _checks.choice("limiter", limiter, LIMITERS)
    limit = max_dt(problem, grid, tau=tau, cfl=cfl, oracle=oracle)
    dt0 = limit if dt0 is None else dt0
    check_controller(rtol, atol, dt0, max_steps, safety, factor_min, factor_max)
    grid_v = grid_oracle(problem, grid, oracle)
    area = grid.cell_area

    def evaluated(density, step) -> PDEState:
        ev = grid_v.evaluate(density)
        return PDEState(density, ev.potential, ev.grad_potential, ev.energy, step)

    def init(density, key=None):
        del key
        density = jnp.asarray(density)
        return start(evaluated(density / grid.mass(density), jnp.zeros((), jnp.int32)), min(dt0, limit))

    def rate(state: PDEState):
        rho, v = state.density, state.potential
        v_bar = jnp.sum(rho * v) / jnp.sum(rho)
        return transport_rate(rho, v, grid, tau=tau, limiter=limiter) - alpha * rho * (v - v_bar)

    def propose(key, state: PDEState, h):
        del key
        f0 = rate(state)
        predicted = evaluated(jnp.maximum(state.density + h * f0, 0.0), state.step)
        new = evaluated(jnp.maximum(state.density + h / 2 * (f0 + rate(predicted)), 0.0), state.step)
        scale = atol + rtol * jnp.maximum(jnp.abs(predicted.density), jnp.abs(new.density))
        err = jnp.sqrt(jnp.mean(((new.density - predicted.density) / scale) ** 2))
        return new, jnp.where(jnp.isfinite(err), err, jnp.inf)

    def summary(state: PDEState) -> dict:
        w = state.density * area
        ess = jnp.sum(w) ** 2 / jnp.sum(w * w)
        return dict(energy=state.energy, mean_potential=jnp.sum(w * state.potential) / jnp.sum(w), ess=ess,
                    lineages=jnp.sum(w > 0).astype(jnp.int32), mass=jnp.sum(w))  # fmt: skip

    advance = controller(propose, max_steps, safety, factor_min, factor_max, max_dt=limit)
    return Adaptive(init, advance, int(max_steps), summary)
