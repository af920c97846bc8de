"""Argument checks shared by the library constructors (one-line ValueErrors)."""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["choice", "finite", "nonnegative", "positive"]


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
