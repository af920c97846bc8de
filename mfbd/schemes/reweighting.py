"""Scheme B: weighted particles with deterministic multiplicative reweighting.

Each unit carries a weight; V is evaluated at μ = Σ_j w_j δ_{θ_j}, the transport
velocity is -∇V_i (not weighted by w_i), and the weights follow the reaction
term exactly for frozen V:

.. math:: \\log w_i ← \\log w_i - αΔt (V_i - \\bar V), \\quad \\bar V = Σ_i w_i V_i,

normalised with logsumexp. ESS = 1/Σ w_i². With ``resample_below`` the units are
resampled systematically (weights reset to uniform) whenever ESS/n falls under
the threshold.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from mfbd import _checks
from mfbd.problems.base import Problem
from mfbd.schemes.base import Scheme, State, check_step_parameters, gather_units, uniform_log_weights, where_units
from mfbd.schemes.schedules import rate_schedule
from mfbd.schemes.splitting import build_scheme

__all__ = ["reweighting", "systematic_resample"]


def systematic_resample(key, weights):
    """Systematic resampling: unit i is chosen ⌊n w_i⌋ or ⌈n w_i⌉ times.

    Returns ``[n]`` indices, one uniform offset u shared by the grid (u + k)/n.
    """
    n = weights.shape[0]
    grid = (jax.random.uniform(key, (), weights.dtype) + jnp.arange(n, dtype=weights.dtype)) / n
    cdf = jnp.cumsum(weights)
    return jnp.minimum(jnp.searchsorted(cdf, grid, side="right"), n - 1)


def reweighting(
    problem: Problem,
    dt: float,
    alpha,
    *,
    resample_below: float | None = None,
    noise: float = 0.0,
    optimizer: optax.GradientTransformation | None = None,
    transport: bool = True,
    gradient: str = "carried",
    splitting: str = "lie",
    integrator: str = "euler",
) -> Scheme:
    """Transport plus multiplicative reweighting (scheme B).

    Args:
      problem: the energy.
      dt: time step Δt.
      alpha: reweighting rate α ≥ 0, a number (possibly traced) or a schedule
        ``step -> α`` (:mod:`mfbd.schemes.schedules`); α = 0 is gradient flow exactly.
      resample_below: resample systematically when ESS/n < this threshold in (0, 1].
      noise, optimizer: as for :func:`mfbd.gradient_flow`.
      transport: False gives pure reweighting (positions frozen).
      gradient, splitting, integrator: step options (:mod:`mfbd.schemes.splitting`);
        ``integrator="heun"`` also integrates the log-weights by the trapezoid rule
        log w ← log w - (αh/2)[(V - V̄) + (V* - V̄*)], V* at the Euler-predicted weights.

    Example:
      >>> import jax, mfbd
      >>> problem = mfbd.problems.gaussian_mixture_1d()
      >>> scheme = mfbd.reweighting(problem, dt=0.01, alpha=5.0)
      >>> state = scheme.init(problem.init_particles(jax.random.key(0), 200))
      >>> state, info = jax.jit(scheme.step)(jax.random.key(1), state)
    """
    check_step_parameters(dt, noise, alpha)
    rate = rate_schedule(alpha)
    concrete = resample_below is not None and _checks._is_concrete(resample_below)
    if concrete and not 0 < float(resample_below) <= 1:
        raise ValueError(f"resample_below must be in (0, 1], got {resample_below}")
    heun = integrator == "heun"

    def reweighted(log_w, drift, a_h):
        log_w = log_w - a_h * drift
        return log_w - jax.scipy.special.logsumexp(log_w)

    def reaction(key, state: State, a_h, evaluate):
        n = state.potential.shape[0]
        v = state.potential
        drift = v - jnp.dot(jax.nn.softmax(state.log_weights), v)
        log_w = reweighted(state.log_weights, drift, a_h)
        if heun:  # trapezoid rule: V* at the Euler-predicted weights
            v_star = evaluate(jax.random.fold_in(key, 7), state._replace(log_weights=log_w)).potential
            drift_star = v_star - jnp.dot(jax.nn.softmax(log_w), v_star)
            log_w = reweighted(state.log_weights, (drift + drift_star) / 2, a_h)
        new = state._replace(log_weights=log_w)
        zero = jnp.zeros((), jnp.int32)
        if resample_below is None:
            return new, zero, zero
        w = jnp.exp(log_w)
        resample = 1.0 / jnp.sum(w * w) < resample_below * n
        source = systematic_resample(key, w)
        resampled = gather_units(state, source)._replace(log_weights=uniform_log_weights(n, log_w.dtype))
        mask = jnp.broadcast_to(resample, (n,))
        return where_units(mask, resampled, new, n), zero, zero

    options = dict(gradient=gradient, splitting=splitting, integrator=integrator)
    return build_scheme(
        problem, dt, reaction, rate=rate, noise=noise, optimizer=optimizer, transport=transport, **options
    )
