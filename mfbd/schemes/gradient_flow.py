"""Transport alone: the Wasserstein gradient flow of E.

.. math:: dθ_i/dt = -∇_θ V(θ_i, μ) \\quad⟷\\quad ∂_t μ = ∇·(μ ∇V)
"""

from __future__ import annotations

import optax

from mfbd.problems.base import Problem
from mfbd.schemes.base import Scheme, check_step_parameters
from mfbd.schemes.heun import heun_scheme
from mfbd.schemes.splitting import build_scheme, check_order

__all__ = ["gradient_flow"]


def gradient_flow(
    problem: Problem,
    dt: float,
    *,
    noise=0.0,
    optimizer: optax.GradientTransformation | None = None,
    gradient: str = "carried",
    splitting: str = "lie",
    integrator: str = "euler",
    order: int | None = None,
    periodic: bool = False,
) -> Scheme:
    """Euler steps θ ← θ - Δt ∇V (optionally an optax optimizer, Heun's method, Langevin noise).

    Args:
      problem: the energy.
      dt: time step Δt.
      noise: temperature τ ≥ 0, a number or a schedule ``step -> τ_k``
        (:mod:`mfbd.schemes.temperature`); adds √(2τ_kΔt)·ξ each step (mean-field Langevin).
      optimizer: an optax transformation applied to ∇V instead of the Euler step.
      gradient, splitting, integrator: step options (:mod:`mfbd.schemes.splitting`);
        without a reaction only ``integrator`` changes the result.
      order: 1 (Euler) or 2 (Heun, two oracle passes per step, :mod:`mfbd.schemes.heun`)
        instead of the step options; None keeps them. ``scheme.order()`` says
        what the step delivers.
      periodic: wrap positions into the torus [0, L)^d the problem declares (``Problem.period``).

    Example:
      >>> import jax, mfbd
      >>> problem = mfbd.problems.gaussian_mixture_1d()
      >>> scheme = mfbd.gradient_flow(problem, dt=0.01)
      >>> state = scheme.init(problem.init_particles(jax.random.key(0), 200))
      >>> state, info = jax.jit(scheme.step)(jax.random.key(1), state)
    """
    check_step_parameters(dt, noise)
    options = dict(gradient=gradient, splitting=splitting, integrator=integrator)
    check_order(order, options, noise=noise, optimizer=optimizer, periodic=periodic)
    if order == 2:
        return heun_scheme(problem, dt, build_scheme(problem, dt, None).init)
    return build_scheme(problem, dt, None, noise=noise, optimizer=optimizer, periodic=periodic, **options)
