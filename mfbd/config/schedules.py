"""Rate and temperature schedules in configs: ``alpha`` or ``noise`` as a table naming a schedule.

``noise`` (the temperature τ) takes the same tables, plus ``{schedule = "logarithmic", c = 0.1}``
(:func:`mfbd.schemes.logarithmic`; ``dt`` defaults to 1, so k counts steps), e.g. noise off after
step 800: ``noise = {schedule = "piecewise_constant", init_value = 0.1, boundaries_and_scales = {"800" = 0.0}}``.

An arm's ``alpha`` is a number or an inline table with ``schedule`` (a name of
:data:`SCHEDULES`) and that optax function's own parameters, e.g.::

    alpha = {schedule = "cosine_decay", init_value = 1.0, decay_steps = 3000}
    alpha = {schedule = "piecewise_constant", init_value = 5.0, boundaries_and_scales = {"2000" = 0.1}}

The schedule maps the step counter k to α_k (:mod:`mfbd.schemes.schedules`);
``quench_last`` still switches the reaction off for the last steps. Before a run
the schedule is evaluated on the host at every step the reaction is on
(:func:`mfbd.schemes.schedules.check_schedule`): a negative or non-finite α is
refused with the step where it happens.
"""

from __future__ import annotations

import inspect
import math
from typing import NamedTuple

import optax

from mfbd.config.bind import bind
from mfbd.config.toml import ConfigError, nearest, toml_value
from mfbd.schemes.schedules import check_schedule
from mfbd.schemes.temperature import check_temperature, logarithmic

__all__ = ["SCHEDULES", "AlphaSchedule", "check"]

#: Config name -> optax schedule function (its parameter names are the table's keys).
SCHEDULES = {
    "constant": optax.constant_schedule,
    "linear": optax.linear_schedule,
    "cosine_decay": optax.cosine_decay_schedule,
    "exponential_decay": optax.exponential_decay,
    "piecewise_constant": optax.piecewise_constant_schedule,
    "polynomial": optax.polynomial_schedule,
    "warmup_cosine_decay": optax.warmup_cosine_decay_schedule,
    "logarithmic": logarithmic,  # a temperature: τ_k = c / log(k·dt + e) (dt defaults to 1: k in steps)
}


def _number(value, path):
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{path} must be a finite number, got {value!r}")
    return float(value)


def _value(parameter: inspect.Parameter, value, path):
    """A schedule parameter from TOML, by the kind its annotation names (int, bool, table, number)."""
    annotation = parameter.annotation
    kind = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{path} must be true or false, got {value!r}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path} must be an integer (a number of steps), got {value!r}")
        return value
    if "dict" in kind:  # piecewise_constant's boundaries_and_scales: {"step" = scale}
        if not isinstance(value, dict) or not all(k.isdigit() for k in value):
            raise ConfigError(f'{path} must be a table of step = scale, e.g. {{"1000" = 0.5}}, got {value!r}')
        return tuple(sorted((int(k), _number(v, f"{path}.{k}")) for k, v in value.items()))
    return _number(value, path)


class AlphaSchedule(NamedTuple):
    """A rate schedule table: ``schedule`` names an optax schedule, the other keys are its parameters.

    Held as the name and ``(parameter, value)`` pairs, so that a config stays hashable.
    """

    schedule: str
    params: tuple[tuple[str, object], ...]

    toml_name = "a schedule table"

    @classmethod
    def from_toml(cls, table: dict, where: str) -> AlphaSchedule:
        """Check a TOML table: a known schedule name, known parameters of valid types, none missing."""
        if "schedule" not in table:
            raise ConfigError(f"{where} as a table needs schedule = one of {', '.join(map(repr, SCHEDULES))}")
        name = table["schedule"]
        if name not in SCHEDULES:
            close = nearest(str(name), list(SCHEDULES)).replace("valid keys", "valid schedules")
            raise ConfigError(f"{where}.schedule: unknown schedule {name!r}; {close}")
        options = {k: v for k, v in table.items() if k != "schedule"}
        params = bind(SCHEDULES[name], options, where, f"schedule {name!r}", convert=_value)
        return cls(name, tuple(params.items()))

    def to_toml(self) -> str:
        """The inline table that :meth:`from_toml` reads back to an equal schedule."""
        items = [f"schedule = {toml_value(self.schedule)}"]
        for key, value in self.params:
            if isinstance(value, tuple):
                value = "{" + ", ".join(f'"{k}" = {toml_value(v)}' for k, v in value) + "}"
            else:
                value = toml_value(value)
            items.append(f"{key} = {value}")
        return "{" + ", ".join(items) + "}"

    def __call__(self, step):
        """α_k of the optax schedule (built on each call: a pure function of the step)."""
        kwargs = {k: dict(v) if isinstance(v, tuple) else v for k, v in self.params}
        return SCHEDULES[self.schedule](**kwargs)(step)


def check(arm, steps: int, where: str) -> None:
    """``quench_last`` ≤ ``steps``; an alpha schedule evaluated on the host at every step before the quench."""
    quench = getattr(arm, "quench_last", None)
    if quench is not None and quench > steps:
        raise ConfigError(f"{where}.quench_last ({quench}) exceeds run.steps ({steps}); lower it")
    if isinstance(arm.noise, AlphaSchedule):  # a temperature schedule: τ_k ≥ 0 at every step
        try:
            check_temperature(arm.noise, steps)
        except ValueError as e:
            raise ConfigError(f"{where}.noise: {e}") from None
    alpha = getattr(arm, "alpha", None)
    if not isinstance(alpha, AlphaSchedule):
        return
    active = steps - (quench or 0)
    try:
        check_schedule(alpha, active)
    except ValueError as e:
        raise ConfigError(f"{where}.alpha: {e}") from None
