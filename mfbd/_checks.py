"""Argument checks shared by the library constructors (one-line ValueErrors)."""

from __future__ import annotations

import math
from collections.abc import Iterable

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["choice", "finite", "in_unit_interval", "nonnegative", "nonnegative_over_steps", "positive"]


def _is_concrete(value) -> bool:
    try:
        float(value)
    except Exception:  # a tracer: checked by the caller's jit-time logic instead
        return False
    return True


def choice(name: str, value, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise a one-line ValueError."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(map(repr, allowed))}")
    return value


def finite(name: str, value) -> None:
    """Raise if a concrete ``value`` is NaN or infinite (tracers are skipped)."""
    if _is_concrete(value) and not math.isfinite(float(value)):
        raise ValueError(f"{name} must be finite, got {value}")


def positive(name: str, value) -> None:
    """Raise unless a concrete ``value`` is finite and > 0 (tracers are skipped)."""
    finite(name, value)
    if _is_concrete(value) and not float(value) > 0:
        raise ValueError(f"{name} must be > 0, got {value}")


def nonnegative(name: str, value) -> None:
    """Raise unless a concrete ``value`` is finite and ≥ 0 (tracers are skipped)."""
    finite(name, value)
    if _is_concrete(value) and not float(value) >= 0:
        raise ValueError(f"{name} must be ≥ 0, got {value}")


def in_unit_interval(name: str, value) -> None:
    """Raise unless a concrete ``value`` is in (0, 1] (tracers are skipped)."""
    finite(name, value)
    if _is_concrete(value) and not 0 < float(value) <= 1:
        raise ValueError(f"{name} must be in (0, 1], got {value}")


def nonnegative_over_steps(value, steps: int, name: str, gives: str, rule: str) -> None:
    """Raise a one-line ValueError if ``value`` (a number, or a schedule ``step -> value``) is negative or
    non-finite at a step < ``steps``: ``name`` for a number, ``"{gives} = v at step k; {rule}"`` for a schedule
    (α in :mod:`mfbd.schemes.schedules`, τ in :mod:`mfbd.schemes.temperature`)."""
    if not callable(value):
        nonnegative(name, value)
        return
    values = np.asarray(jax.jit(jax.vmap(value))(jnp.arange(steps, dtype=jnp.int32)), np.float64)
    bad = np.flatnonzero(~(np.isfinite(values) & (values >= 0)))
    if bad.size:
        k = int(bad[0])
        raise ValueError(f"{gives} = {values[k]} at step {k}; {rule}")
