"""Second order at two oracle passes per step: Heun's method on the joint flow of
positions and log-weights, first same as last (FSAL).

Scheme B's mean-field ODE (gradient flow is α = 0), with y = (θ, log w),

.. math:: dθ_i/dt = -∇V(θ_i, μ), \\quad d\\log w_i/dt = -α (V_i - \\bar V), \\quad μ = Σ_j w_j δ_{θ_j},

is stepped by Heun's method (the explicit trapezoid rule), log-weights normalised
with logsumexp after each stage:

.. math:: y^* = y + Δt f(y), \\qquad y' = y + \\tfrac{Δt}{2} (f(y) + f(y^*)).

f(y) is the V and ∇V the state carries, evaluated at its own measure by the
previous step (first same as last), so a step costs two oracle passes: at y* and
at y'. y' - y* = (Δt/2)(f(y*) - f(y)) is the local error of the Euler result y*,
the embedded estimate of :mod:`mfbd.adaptive`.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from mfbd.problems.base import Problem
from mfbd.schemes.base import Info, Scheme, State, effective_sample_size, fixed_order
from mfbd.schemes.schedules import RateSchedule

__all__ = ["Stages", "heun_scheme", "heun_stages"]


class Stages(NamedTuple):
    """One Heun step: the Euler predictor y* and the result y', each with V, ∇V and E at its own measure."""

    predicted: State
    new: State


def _normalised(log_w):
    return log_w - jax.scipy.special.logsumexp(log_w)


def heun_stages(problem: Problem, key, state: State, dt, a_dt=None, transport: bool = True) -> Stages:
    """The two stages of one FSAL Heun step of size ``dt`` (α·Δt = ``a_dt``; None: no reaction).

    Keys are those of the Heun transport of :func:`mfbd.schemes.splitting.build_scheme`
    (predictor ``fold_in(k_data, 3)``, result ``k_data``), so that without a reaction
    the step is that one's ``integrator="heun"`` step.
    """
    _, k_data, _ = jax.random.split(key, 3)

    def evaluate(k, particles, log_w):
        ev = problem.evaluate(particles, jax.nn.softmax(log_w), k)
        return state._replace(
            particles=particles, log_weights=log_w, potential=ev.potential, grad_potential=ev.grad_potential,
            energy=ev.energy,
        )  # fmt: skip

    def moved(grad):
        if not transport:
            return state.particles
        return jax.tree_util.tree_map(lambda p, g: p - dt * g, state.particles, grad)

    def drift(s: State):
        return s.potential - jnp.dot(jax.nn.softmax(s.log_weights), s.potential)

    log_w = state.log_weights
    log_w_star = log_w if a_dt is None else _normalised(log_w - a_dt * drift(state))
    predicted = evaluate(jax.random.fold_in(k_data, 3), moved(state.grad_potential), log_w_star)
    mean_grad = jax.tree_util.tree_map(lambda a, b: (a + b) / 2, state.grad_potential, predicted.grad_potential)
    log_w_new = log_w if a_dt is None else _normalised(log_w - a_dt * (drift(state) + drift(predicted)) / 2)
    return Stages(predicted, evaluate(k_data, moved(mean_grad), log_w_new))


def heun_scheme(problem: Problem, dt, init, rate: RateSchedule | None = None, *, transport: bool = True) -> Scheme:
    """The FSAL Heun step as a :class:`~mfbd.Scheme` (order 2, two oracle passes per step).

    ``init`` is the scheme's ``init`` (uniform weights and one oracle pass: that of
    gradient flow, ``build_scheme(problem, dt, None).init``). ``rate`` is the schedule
    α_k of scheme B (None: gradient flow). ``info.energy`` is E at the end of the step
    (the FSAL pass), ``info.mean_potential`` the V̄ at its start; no unit moves
    (``killed = born = 0``, every unit its own lineage).
    """

    def step(key, state: State):
        a_dt = None
        if rate is not None:
            a_dt = rate.times(state.step, dt)
            a_dt = a_dt if isinstance(a_dt, float) else jnp.asarray(a_dt).astype(state.potential.dtype)
        new = heun_stages(problem, key, state, dt, a_dt, transport).new
        energy = new.energy
        if rate is not None:  # a negative or non-finite traced α poisons the state (module schedules)
            energy, new = rate.poison(state.step, energy, new)
        new = new._replace(step=state.step + 1)
        w = jax.nn.softmax(new.log_weights)
        ess = effective_sample_size(w)
        zero = jnp.zeros((), jnp.int32)
        info = Info(
            time=(new.step * dt).astype(energy.dtype),
            energy=energy,
            mean_potential=jnp.dot(jax.nn.softmax(state.log_weights), state.potential),
            killed=zero,
            born=zero,
            ess=ess,
            lineages=jnp.sum(w > 0).astype(jnp.int32),
            effective_lineages=ess,
            oracle_passes=jnp.asarray(2, jnp.int32),  # at y* and at y' (first same as last)
        )
        return new, info

    return Scheme(init, step, fixed_order(2))
