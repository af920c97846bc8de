"""Adaptive Δt for the deterministic paths, run and recorded at fixed mean-field times.

The step and its controller are :mod:`mfbd.schemes.adaptive` (:func:`adaptive`, re-exported here: an
embedded Euler/Heun error, a PI controller with ``rtol``/``atol``, the transfer limit, a step budget).
:func:`simulate_adaptive` and :func:`run_adaptive` step to each requested time exactly (the step before is
shortened; the proposal is kept), so curves of different runs line up; everything is a pure function of the
:class:`AdaptiveState`, so runs jit, vmap over seeds (each seed its own Δt) and resume bit-identically.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from mfbd import _checks
from mfbd.schemes.adaptive import Adaptive, AdaptiveState, adaptive
from mfbd.schemes.base import Info, State, effective_sample_size

__all__ = ["Adaptive", "AdaptiveState", "adaptive", "initial_record", "run_adaptive", "simulate_adaptive"]


def _particles(state: State) -> dict:
    """E, V̄ = Σ_i w_i V_i, ESS = 1/Σ_i w_i², the units of positive weight and the mass of a particle state."""
    w = jax.nn.softmax(state.log_weights)
    return dict(energy=state.energy, mean_potential=jnp.dot(w, state.potential), ess=effective_sample_size(w),
                lineages=jnp.sum(w > 0).astype(jnp.int32), mass=jnp.sum(jnp.exp(state.log_weights)))  # fmt: skip


def _record(summary, a: AdaptiveState, observe, attempts, accepted, span) -> dict:
    """A record: Info's fields at the state (``summary(state)``; ``oracle_passes``: those of the ``attempts``
    since the last record), the controller's counters, ``dt_accepted`` (``span``, the time advanced since the
    last record, over the ``accepted`` steps that advanced it; 0 if none) and ``observe(state)``."""
    s, zero = (summary or _particles)(a.state), jnp.zeros((), jnp.int32)
    info = Info(a.time, s["energy"], s["mean_potential"], zero, zero, s["ess"], s["lineages"], s["ess"],
                2 * attempts, s["mass"], zero)  # fmt: skip
    dt_accepted = jnp.where(accepted > 0, span / jnp.maximum(accepted, 1), 0.0).astype(a.dt.dtype)
    row = {"step": a.state.step, **info._asdict(), "dt": a.dt, "dt_accepted": dt_accepted, "accepted": a.accepted,
           "rejected": a.rejected, "passes": 2 * (a.accepted + a.rejected) + 1}  # fmt: skip
    if observe is not None:
        row.update(observe(a.state))
    return row


def initial_record(a: AdaptiveState, observe=None, summary=None) -> dict:
    """The record of a fresh :class:`AdaptiveState` in the layout of :func:`run_adaptive`'s: t = 0 and one
    oracle pass (``init``'s); ``summary``: the scheme's (None: particles')."""
    row = _record(summary, a, observe, jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32), jnp.zeros((), a.time.dtype))
    return {**row, "oracle_passes": jnp.ones((), jnp.int32)}


@functools.lru_cache(maxsize=32)
def run_adaptive(scheme: Adaptive, observe=None, seeds: bool = False):
    """A jitted ``(key, astate, times) -> (astate, trace)``: one record at each mean-field time in ``times``.

    A record holds ``step`` (accepted steps), the :class:`~mfbd.Info` fields (``time`` is the time
    reached: below the requested one only when the step budget ran out), ``dt`` (the next proposal),
    ``dt_accepted`` (the mean accepted Δt since the previous record), ``accepted``, ``rejected``, ``passes``
    (oracle passes since the start, init included) and the
    observables. ``seeds=True``: ``jit(vmap(...))`` over a leading axis of keys and states (shared times).
    """

    def run(key, a: AdaptiveState, times):
        def one(a, t):
            before = a
            a = scheme.advance(key, a, t)
            attempts = a.accepted + a.rejected - before.accepted - before.rejected
            return a, _record(scheme.summary, a, observe, attempts, a.accepted - before.accepted, a.time - before.time)

        return jax.lax.scan(one, a, times)

    return jax.jit(jax.vmap(run, in_axes=(0, 0, None))) if seeds else jax.jit(run)


def simulate_adaptive(key, scheme: Adaptive, astate: AdaptiveState, times, *, observe=None):
    """Run to each of ``times`` (increasing mean-field times after ``astate.time``), recording there.

    Returns ``(astate, trace)`` (see :func:`run_adaptive`); resuming from the returned state with
    later times continues bit-identically. vmap it, or use ``run_adaptive(..., seeds=True)``, for seeds.
    """
    times = np.asarray(times, dtype=float)
    if times.ndim != 1 or times.size == 0 or np.any(np.diff(times) <= 0) or not np.all(np.isfinite(times)):
        raise ValueError("times must be a non-empty increasing 1-d sequence of finite mean-field times")
    if _checks._is_concrete(astate.time) and times[0] <= float(astate.time):
        raise ValueError(f"times must start after the state's time {float(astate.time)}, got {times[0]}")
    return run_adaptive(scheme, observe)(key, astate, jnp.asarray(times, astate.time.dtype))
