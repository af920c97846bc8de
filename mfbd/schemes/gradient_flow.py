"""Transport alone: the Wasserstein gradient flow of E.

.. math:: dθ_i/dt = -∇_θ V(θ_i, μ) \\quad⟷\\quad ∂_t μ = ∇·(μ ∇V)
"""

from __future__ import annotations

import optax

from mfbd.problems.base import Problem
from mfbd.schemes.base import Scheme, build_scheme, check_common

__all__ = ["gradient_flow"]


def gradient_flow(
    problem: Problem,
    dt: float,
    *,
    noise: float = 0.0,
    optimizer: optax.GradientTransformation | None = None,
) -> Scheme:
    """Euler steps θ ← θ - Δt ∇V (optionally an optax optimizer, optionally Langevin noise).

    Args:
      problem: the energy.
      dt: time step Δt.
      noise: temperature τ; adds √(2τΔt)·ξ each step (mean-field Langevin).
      optimizer: an optax transformation applied to ∇V instead of the Euler step.

    Example:
      >>> import jax, mfbd
      >>> problem = mfbd.problems.gaussian_mixture_1d()
      >>> scheme = mfbd.gradient_flow(problem, dt=0.01)
      >>> state = scheme.init(problem.init_particles(jax.random.key(0), 200))
      >>> state, info = jax.jit(scheme.step)(jax.random.key(1), state)
    """
    check_common(dt, noise)
    return build_scheme(problem, dt, None, noise=noise, optimizer=optimizer)
