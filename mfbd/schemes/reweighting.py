"""Scheme B: weighted particles with deterministic multiplicative reweighting.

Each unit carries a weight; V is evaluated at μ = Σ_j w_j δ_{θ_j}, the transport
velocity is -∇V_i (not weighted by w_i), and the weights follow the reaction
term exactly for frozen V:

.. math:: \\log w_i ← \\log w_i - αΔt (V_i - \\bar V), \\quad \\bar V = Σ_i w_i V_i,

normalised with logsumexp. ESS = 1/Σ w_i². With ``resample_below`` the units are
resampled systematically (weights reset to uniform) whenever ESS/n falls under
the threshold.

Without resampling the weights degenerate, and units of negligible weight still
move at full speed: they do not feel their own effect on f_μ. Under Langevin
noise the residual f_μ - f stays non-zero, so on 2-homogeneous units
(φ = c·relu(z·x)) these units grow without bound, their |V - V̄| becomes large,
and one reweighting step hands them the mass (experiment 2, τ = 1e-5, Δt = 5,
α = 1, n = 200: NaN at t ≈ 5 900–8 800 in 3 seeds). Resampling (e.g. ``resample_below=0.5``)
removes them and keeps that run finite.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from mfbd import _checks
from mfbd.problems.base import Problem
from mfbd.schemes.base import (
    Scheme,
    State,
    check_step_parameters,
    effective_sample_size,
    gather_units,
    uniform_log_weights,
    where_units,
)
from mfbd.schemes.heun import heun_scheme
from mfbd.schemes.schedules import rate_schedule
from mfbd.schemes.splitting import build_scheme, check_order

__all__ = ["adaptive_reweighting", "reweighting", "systematic_resample"]


def systematic_resample(key, weights):
    """Systematic resampling: unit i is chosen ⌊n w_i⌋ or ⌈n w_i⌉ times.

    Returns ``[n]`` indices, one uniform offset u shared by the grid (u + k)/n.
    """
    n = weights.shape[0]
    grid = (jax.random.uniform(key, (), weights.dtype) + jnp.arange(n, dtype=weights.dtype)) / n
    cdf = jnp.cumsum(weights)
    return jnp.minimum(jnp.searchsorted(cdf, grid, side="right"), n - 1)


def _normalised(log_w):
    return log_w - jax.scipy.special.logsumexp(log_w)


def _moved(log_w, weights):
    """Total variation ½Σ|w' - w| between the weights of ``log_w`` and ``weights``."""
    return 0.5 * jnp.sum(jnp.abs(jnp.exp(log_w) - weights), axis=-1)


def adaptive_reweighting(key, state: State, a_h, evaluate, max_transfer: float, max_substeps: int = 32):
    """The reaction d log w/dt = -α(V(w) - V̄(w)) over αh = ``a_h`` with V re-evaluated.

    The frozen-V step log w - αh(V - V̄) is taken whole when it moves at most
    ``max_transfer`` of the mass (total variation), which leaves ordinary steps
    unchanged bit for bit. Otherwise the step is cut into sub-steps: each takes
    the largest fraction r·2^-j of the remaining time whose frozen-V step moves
    at most ``max_transfer``, then V is evaluated at the new weights (one oracle
    pass); the last allowed sub-step takes whatever remains. This follows the
    self-limiting reaction flow (a unit gaining mass raises its own V) instead of
    handing all the mass to one unit in one step.

    ``evaluate`` may be an :class:`~mfbd.schemes.base.OracleTally`; the sub-steps'
    passes are then added to it.
    """
    oracle = getattr(evaluate, "uncounted", evaluate)
    weights = jax.nn.softmax(state.log_weights)
    drift = state.potential - jnp.dot(weights, state.potential)
    whole = _normalised(state.log_weights - a_h * drift)
    fractions = 2.0 ** -jnp.arange(16, dtype=whole.dtype)

    def sub_step(carry):
        log_w, v, remaining, i = carry
        w = jnp.exp(log_w)
        d = v - jnp.dot(w, v)
        trials = jax.vmap(lambda f: _normalised(log_w - f * remaining * a_h * d))(fractions)
        ok = (_moved(trials, w) <= max_transfer) | (i + 1 >= max_substeps)
        j = jnp.where(jnp.any(ok), jnp.argmax(ok), fractions.shape[0] - 1)
        taken = jnp.where(j == 0, remaining, fractions[j] * remaining)
        log_w = trials[j]
        v = oracle(jax.random.fold_in(key, 100 + i), state._replace(log_weights=log_w)).potential
        return log_w, v, remaining - taken, i + 1

    # A while loop that does not start when the whole step is fine (also under vmap,
    # where a cond would run both branches): ordinary steps cost no extra pass.
    whole_ok = _moved(whole, weights) <= max_transfer
    remaining = jnp.where(whole_ok, 0.0, 1.0).astype(whole.dtype)
    start = (_normalised(state.log_weights), state.potential, remaining, jnp.zeros((), jnp.int32))
    cycled, _, _, substeps = jax.lax.while_loop(lambda c: (c[2] > 0) & (c[3] < max_substeps), sub_step, start)
    if hasattr(evaluate, "add"):
        evaluate.add(substeps)  # 0 when the whole step was taken
    return jnp.where(whole_ok, whole, cycled)


def reweighting(
    problem: Problem,
    dt: float,
    alpha,
    *,
    resample_below: float | None = None,
    noise: float = 0.0,
    optimizer: optax.GradientTransformation | None = None,
    transport: bool = True,
    max_transfer: float | None = None,
    gradient: str = "carried",
    splitting: str = "lie",
    integrator: str = "euler",
    order: int | None = None,
    periodic: bool = False,
) -> Scheme:
    """Transport plus multiplicative reweighting (scheme B).

    Args:
      problem: the energy.
      dt: time step Δt.
      alpha: reweighting rate α ≥ 0, a number (possibly traced) or a schedule
        ``step -> α`` (:mod:`mfbd.schemes.schedules`); α = 0 is gradient flow exactly.
      resample_below: resample systematically when ESS/n < this threshold in (0, 1].
      noise, optimizer, periodic: as for :func:`mfbd.gradient_flow`.
      transport: False gives pure reweighting (positions frozen).
      max_transfer: the most mass (total variation) one frozen-V weight step may
        move; a step that would move more is sub-cycled with V re-evaluated
        (:func:`adaptive_reweighting`). None: always the plain frozen-V step.
      gradient, splitting, integrator: step options (:mod:`mfbd.schemes.splitting`);
        ``integrator="heun"`` also integrates the log-weights by the trapezoid rule
        log w ← log w - (αh/2)[(V - V̄) + (V* - V̄*)], V* at the Euler-predicted weights.
      order: 1 (the default step) or 2 (Heun's method on positions and log-weights
        together, two oracle passes per step, :mod:`mfbd.schemes.heun`; needs
        noise = 0 and no optimizer, resampling or max_transfer) instead of the
        step options; None keeps them. ``scheme.order()`` says what the step delivers.

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
    if max_transfer is not None and _checks._is_concrete(max_transfer) and not 0 < float(max_transfer) <= 1:
        raise ValueError(f"max_transfer must be in (0, 1] or None, got {max_transfer}")
    options = dict(gradient=gradient, splitting=splitting, integrator=integrator)
    check_order(order, options, noise=noise, optimizer=optimizer, resample_below=resample_below,
                max_transfer=max_transfer, periodic=periodic)  # fmt: skip
    if order == 2:
        return heun_scheme(problem, dt, build_scheme(problem, dt, None).init, rate, transport=transport)
    heun = integrator == "heun"

    def reweighted(log_w, drift, a_h):
        return _normalised(log_w - a_h * drift)

    def reaction(key, state: State, a_h, evaluate):
        n = state.potential.shape[0]
        v = state.potential
        drift = v - jnp.dot(jax.nn.softmax(state.log_weights), v)
        if max_transfer is None:
            log_w = reweighted(state.log_weights, drift, a_h)
        else:
            log_w = adaptive_reweighting(key, state, a_h, evaluate, max_transfer)
        if heun:  # trapezoid rule: V* at the Euler-predicted weights
            v_star = evaluate(jax.random.fold_in(key, 7), state._replace(log_weights=log_w)).potential
            drift_star = v_star - jnp.dot(jax.nn.softmax(log_w), v_star)
            log_w = reweighted(state.log_weights, (drift + drift_star) / 2, a_h)
        new = state._replace(log_weights=log_w)
        zero = jnp.zeros((), jnp.int32)
        if resample_below is None:
            return new, zero, zero
        w = jnp.exp(log_w)
        resample = effective_sample_size(w) < resample_below * n
        source = systematic_resample(key, w)
        resampled = gather_units(state, source)._replace(log_weights=uniform_log_weights(n, log_w.dtype))
        mask = jnp.broadcast_to(resample, (n,))
        return where_units(mask, resampled, new, n), zero, zero

    options.update(
        copies=resample_below is not None, reaction_order=2 if resample_below is None else 1, periodic=periodic
    )
    return build_scheme(
        problem, dt, reaction, rate=rate, noise=noise, optimizer=optimizer, transport=transport, **options
    )
