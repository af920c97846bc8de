"""Rate schedules: α as a number or as a function ``step -> α``.

A schedule is any callable of the int32 step counter k (the index of the step
being taken, 0 for the first) returning a scalar, so every optax schedule works
as it is (``optax.cosine_decay_schedule(1.0, 3000)``, ``optax.join_schedules``...).
The step counter lives in the :class:`~mfbd.schemes.State`, so a run resumed from
a saved state continues the schedule where it stopped, bit for bit.

The reaction of step k with sub-step h (h = Δt for Lie splitting, Δt/2 for each
half of Strang) uses the product α_k·h. ``quench_after = q`` is the schedule
α_k = α for k < q and 0 from step q on; the config's ``quench_last = k`` maps to
``quench_after = steps - k``.

A schedule that returns a negative or non-finite α at some step cannot be
checked when the scheme is built; :func:`check_schedule` checks it on the host
over a known number of steps, and inside a run such a step makes the state's
log-weights and energy NaN, so the run's divergence check stops it at the chunk
where it happens. A traced α (a sweep's value) makes the energy NaN at every step
(:meth:`RateSchedule.poison`).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from mfbd import _checks

__all__ = ["RateSchedule", "rate_schedule", "check_schedule"]


class RateSchedule:
    """α_k·h for step k and sub-step h, from a number, a traced value or a schedule.

    Attributes:
      constant: True when α is a concrete number and there is no quench; then
        :meth:`times` returns the Python float α·h (the default path, no extra ops).
    """

    def __init__(self, alpha, quench_after: int | None = None):
        self.schedule = alpha if callable(alpha) else None
        self.alpha = None if callable(alpha) else alpha
        self.quench_after = quench_after
        self.concrete = self.schedule is None and _checks._is_concrete(alpha)
        self.constant = self.concrete and quench_after is None
        if self.concrete:
            self.alpha = float(alpha)

    def times(self, step: jax.Array, h):
        """α_k·h: a Python float on the default path, else a scalar array."""
        if self.constant and _checks._is_concrete(h):
            return self.alpha * float(h)
        if self.schedule is not None:
            value = jnp.asarray(self.schedule(step)) * h
        elif self.concrete:
            value = self.alpha * h
        else:
            value = jnp.asarray(self.alpha) * h
        if self.quench_after is not None:
            value = jnp.where(step >= self.quench_after, 0.0, value)
        return value

    def valid(self, step: jax.Array):
        """False at a step whose α is negative or non-finite (None when α is a checked number)."""
        if self.concrete:
            return None
        value = jnp.asarray(self.schedule(step) if self.schedule is not None else self.alpha)
        return jnp.isfinite(value) & (value >= 0)

    def poison(self, step: jax.Array, energy: jax.Array, state):
        """``(energy, state)`` made NaN where α at ``step`` is negative or non-finite: E (the Info's and the
        state's) always, the log-weights too for a schedule, whose α can be bad at one step only and must carry
        the poison on. A traced number is bad at every step or none, so E suffices, and equal log-weights stay
        loop-invariant (XLA hoists their softmax out of the step loop)."""
        valid = self.valid(step)
        if valid is None:
            return energy, state
        names = ("log_weights", "energy") if self.schedule is not None else ("energy",)
        state = state._replace(**{name: jnp.where(valid, getattr(state, name), jnp.nan) for name in names})
        return jnp.where(valid, energy, jnp.nan), state


def rate_schedule(alpha, quench_after: int | None = None) -> RateSchedule:
    """Check ``alpha`` (a concrete number must be finite and ≥ 0) and wrap it."""
    if not callable(alpha):
        _checks.nonnegative("alpha", alpha)
    if quench_after is not None and _checks._is_concrete(quench_after) and quench_after < 0:
        raise ValueError(f"quench_after must be ≥ 0, got {quench_after}")
    return RateSchedule(alpha, quench_after)


def check_schedule(alpha: float | Callable, steps: int) -> None:
    """Raise a one-line ValueError if ``alpha`` gives a negative or non-finite α at a step < ``steps``."""
    _checks.nonnegative_over_steps(alpha, steps, "alpha", "alpha schedule gives α", "a rate must be finite and ≥ 0")
