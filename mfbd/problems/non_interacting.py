"""A non-interacting problem: V(θ, μ) = U(θ), independent of μ.

The energy is linear, E(μ) = ∫ U dμ, so its first variation is U. Pure
birth-death (no transport) then has the exact solution (paper-notes §3, fact 1)

.. math:: μ_t(dθ) = e^{-α t U(θ)} μ_0(dθ) / ∫ e^{-α t U} dμ_0,

which the tests use to check both particle schemes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from mfbd.problems.base import Evaluation, Problem

__all__ = ["non_interacting"]


def non_interacting(
    U: Callable[[Any], jax.Array],
    init_particles: Callable[[jax.Array, int], Any],
    sample_prior: Callable[[jax.Array, int], Any] | None = None,
    *,
    name: str = "non_interacting",
) -> Problem:
    """A problem with V = U (one unit θ -> scalar) and E(μ) = Σ_i w_i U(θ_i)."""
    value_and_grad = jax.vmap(jax.value_and_grad(U))

    @jax.jit
    def evaluate(particles, weights, key=None):
        del key
        v, g = value_and_grad(particles)
        return Evaluation(v, g, jnp.dot(weights, v))

    return Problem(
        evaluate=evaluate,
        init_particles=init_particles,
        sample_prior=sample_prior,
        mode="kernel",
        name=name,
    )
