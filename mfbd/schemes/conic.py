"""Conic particle descent: transport plus unnormalised multiplicative mass updates.

The Wasserstein–Fisher–Rao gradient flow of E without the mass constraint
(Chizat 2022, "Sparse optimization on measures with over-parameterized gradient
descent"; Liero, Mielke and Savaré's unbalanced transport):

.. math:: ∂_t μ = ∇·(μ ∇V) - α V μ,

each unit's mass m_i changes by its own potential, dm_i/dt = -α V_i m_i, and the
total mass Σ_i m_i is not conserved (reported as ``Info.mass``). The step keeps
log-masses and takes the update exactly for frozen V,

.. math:: \\log m_i ← \\log m_i - αΔt V_i,

so for a potential that does not depend on μ and no transport
m_i(t) = m_i(0) e^{-α t V(θ_i)}. Chizat's (r, θ) lifting with m = r² runs the
same flow with rate 2α in r. Against reweighting (scheme B) the only change is
that V̄ is not subtracted and the weights are not renormalised.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from mfbd.problems.base import Problem
from mfbd.schemes.base import Scheme, State, check_step_parameters
from mfbd.schemes.schedules import rate_schedule
from mfbd.schemes.splitting import build_scheme

__all__ = ["conic"]


def conic(
    problem: Problem,
    dt: float,
    alpha,
    *,
    noise=0.0,
    optimizer: optax.GradientTransformation | None = None,
    transport: bool = True,
    gradient: str = "carried",
    splitting: str = "lie",
    integrator: str = "euler",
    periodic: bool = False,
) -> Scheme:
    """Transport plus conic (unbalanced) mass updates m_i ← m_i e^{-αΔt V_i}.

    Args:
      problem: the energy, defined for measures of any total mass (kernel and
        data mode); sampling problems (a KL to a probability law) are refused.
      dt: time step Δt.
      alpha: mass rate α ≥ 0, a number or a schedule ``step -> α``; α = 0 is
        gradient flow (masses frozen at 1/n).
      noise: temperature τ ≥ 0 or a schedule (:mod:`mfbd.schemes.temperature`).
      optimizer, transport, gradient, splitting, integrator: as for
        :func:`mfbd.reweighting`; ``integrator="heun"`` takes the trapezoid rule
        log m ← log m - (αh/2)(V + V*), V* at the Euler-predicted masses.
      periodic: wrap positions into the problem's torus (``Problem.period``).

    Example:
      >>> import jax, mfbd
      >>> problem = mfbd.problems.gaussian_mixture_1d()
      >>> scheme = mfbd.conic(problem, dt=0.01, alpha=5.0)
      >>> state = scheme.init(problem.init_particles(jax.random.key(0), 200))
      >>> state, info = jax.jit(scheme.step)(jax.random.key(1), state)
      >>> mass = info.mass
    """
    if problem.mode == "sampling":
        raise ValueError(
            "conic descent needs an energy of unnormalised measures; a sampling problem's KL is defined for "
            "probability laws: use mfbd.reweighting"
        )
    check_step_parameters(dt, 0.0 if callable(noise) else noise, alpha)
    heun = integrator == "heun"

    def reaction(key, state: State, a_h, evaluate):
        log_m = state.log_weights - a_h * state.potential
        if heun:  # trapezoid rule: V* at the Euler-predicted masses
            v_star = evaluate(jax.random.fold_in(key, 7), state._replace(log_weights=log_m)).potential
            log_m = state.log_weights - a_h * (state.potential + v_star) / 2
        zero = jnp.zeros((), jnp.int32)
        return state._replace(log_weights=log_m), zero, zero

    options = dict(gradient=gradient, splitting=splitting, integrator=integrator, periodic=periodic)
    return build_scheme(
        problem,
        dt,
        reaction,
        rate=rate_schedule(alpha),
        noise=noise,
        optimizer=optimizer,
        transport=transport,
        copies=False,
        conserve_mass=False,
        **options,
    )
