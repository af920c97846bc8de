"""Temperature τ of mean-field Langevin dynamics: a number or a schedule ``step -> τ``.

The transport of every scheme adds √(2 τ_k Δt)·ξ at step k, the particle
discretisation of ∂_t μ = ∇·(μ∇V) + τ_t Δμ, the Wasserstein gradient flow of
F_τ(μ) = F(μ) + τ ∫ log(dμ/dx) dμ. Any callable of the int32 step counter k works
(optax schedules as they are); :func:`logarithmic` is the annealing of the theory
(Chizat 2022; Nitanda, Wu and Suzuki 2022), τ_t = c / log(t + e) in mean-field
time t = kΔt.

A concrete negative τ is refused when the scheme is built; a schedule is
checked on the host by :func:`check_temperature`, and inside a run a step whose
τ is negative makes the noise (hence the particles) NaN, so the run's divergence
check stops it.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from mfbd import _checks

__all__ = ["check_temperature", "logarithmic", "noise_scale"]


def logarithmic(c: float, dt: float = 1.0) -> Callable[[jax.Array], jax.Array]:
    """The schedule τ_k = c / log(kΔt + e) (τ_0 = c), of the logarithmic annealing theory."""
    _checks.nonnegative("logarithmic temperature c", c)
    _checks.positive("dt", dt)

    def schedule(step):
        return c / jnp.log(jnp.asarray(step, jnp.result_type(float)) * dt + np.e)

    return schedule


def noise_scale(noise, step: jax.Array, dt):
    """√(2 τ_k Δt) for a concrete τ (a Python float), a traced τ or a schedule."""
    if callable(noise):
        tau = jnp.asarray(noise(step))
        return jnp.sqrt(2.0 * tau * dt)  # NaN for τ_k < 0: the run stops there
    if _checks._is_concrete(noise) and _checks._is_concrete(dt):
        return float(np.sqrt(2.0 * float(noise) * float(dt)))
    return jnp.sqrt(2.0 * noise * dt)


def check_temperature(noise, steps: int) -> None:
    """Raise a one-line ValueError if τ (a number or a schedule) is negative or non-finite at a step < ``steps``."""
    _checks.nonnegative_over_steps(
        noise, steps, "noise (temperature τ)", "temperature schedule gives τ", "τ must be finite and ≥ 0"
    )
