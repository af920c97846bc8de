"""``dt = "adaptive"`` arms: gradient flow or scheme B under the error-controlled step of :mod:`mfbd.adaptive`.

An arm with ``dt = "adaptive"`` names its tolerances and the mean-field time of the run's last step::

    [arms.b_adaptive]
    scheme = "reweighting"
    alpha = 5.0
    dt = "adaptive"
    rtol = 1e-4          # the local error's relative tolerance (required)
    atol = 1e-6          # absolute tolerance (default rtol / 100)
    t_end = 3.0          # mean-field time at run.steps (required)
    max_steps = 100000   # the step budget: accepted + rejected attempts over the whole run

Run step s stands for mean-field time s·t_end/steps: a record lands exactly there (the controller
shortens the step before it), so its rows line up with those of a fixed arm of dt = t_end/steps.
metrics.csv gains ``dt`` (the controller's next proposal), ``dt_accepted`` (the mean accepted Δt
since the previous record), ``accepted`` and ``rejected``; ``passes`` counts two per attempt.
``max_transfer`` (scheme B) defaults to the library's 0.25. Pure: nothing here runs.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from mfbd.config.toml import ConfigError

__all__ = ["ADAPTIVE", "FIELDS", "is_adaptive", "as_fixed", "restore", "check", "arguments", "record_times"]

ADAPTIVE = "adaptive"
#: The arm fields only an adaptive arm may set (not passed to the fixed-Δt constructors).
FIELDS = ("rtol", "atol", "t_end", "max_steps")
_DEFAULTS = {"gradient": "carried", "splitting": "lie", "integrator": "euler", "optimizer": None, "periodic": False}


def is_adaptive(arm) -> bool:
    return getattr(arm, "dt", None) == ADAPTIVE


def as_fixed(table: dict, where: str) -> dict:
    """The arm table with ``dt = "adaptive"`` read as a placeholder number (the schema's dt is a number)."""
    dt = table.get("dt")
    if isinstance(dt, str) and dt != ADAPTIVE:
        raise ConfigError(f'{where}.dt must be a positive number or "adaptive", got {dt!r}')
    return {**table, "dt": 1.0} if dt == ADAPTIVE else table


def restore(arm, table: dict):
    """The arm read from ``as_fixed(table)`` with its ``dt = "adaptive"`` back."""
    return dataclasses.replace(arm, dt=ADAPTIVE) if table.get("dt") == ADAPTIVE else arm


def check(arm, where: str) -> None:
    """The adaptive fields of one arm (pure): set only with ``dt = "adaptive"``, and then complete and supported."""
    if not is_adaptive(arm):
        for name in FIELDS:
            if getattr(arm, name, None) is not None:
                raise ConfigError(f'{where}.{name} applies only to dt = "adaptive"; remove it or set dt = "adaptive"')
        return
    if arm.scheme not in ("gradient_flow", "reweighting"):
        raise ConfigError(
            f"{where}.dt: {arm.scheme} has no adaptive step (it is stochastic or first order only); "
            'use a fixed dt, or scheme "gradient_flow" or "reweighting"'
        )
    for name in ("rtol", "t_end"):
        if getattr(arm, name) is None:
            raise ConfigError(f"missing required key '{where}.{name}': dt = \"adaptive\" needs `{name} = ...`")
    if arm.order == 1:
        raise ConfigError(f'{where}.order: dt = "adaptive" steps at order 2 (Heun with an Euler error); remove order')
    if arm.noise != 0:  # a number or a schedule
        raise ConfigError(f'{where}.noise: dt = "adaptive" is deterministic; remove noise or use a fixed dt')
    for name, default in _DEFAULTS.items():
        if getattr(arm, name) != default:
            raise ConfigError(f'{where}.{name}: not an option of dt = "adaptive"; remove it or use a fixed dt')
    if getattr(arm, "resample_below", None) is not None:
        raise ConfigError(f'{where}.resample_below: not an option of dt = "adaptive"; remove it or use a fixed dt')
    if not isinstance(getattr(arm, "alpha", 0.0), int | float):
        raise ConfigError(f'{where}.alpha: dt = "adaptive" needs a constant alpha (a schedule counts steps)')


def arguments(arm) -> dict:
    """The keyword arguments of :func:`mfbd.schemes.adaptive.adaptive` for an adaptive arm (library defaults
    where the arm is silent; atol defaults to rtol/100)."""
    extra = {k: v for k in ("atol", "max_steps") if (v := getattr(arm, k)) is not None}
    extra.setdefault("atol", arm.rtol / 100)
    if getattr(arm, "max_transfer", None) is not None:
        extra["max_transfer"] = arm.max_transfer
    return dict(alpha=getattr(arm, "alpha", 0.0), rtol=arm.rtol, transport=getattr(arm, "transport", True), **extra)


def record_times(arm, steps: int, start: int, records: int, every: int) -> np.ndarray:
    """The mean-field times of the ``records`` records after run step ``start``: (start + k·every)·t_end/steps."""
    return (start + every * np.arange(1, records + 1)) * (arm.t_end / steps)
