"""The one binder from a TOML table to a callable's keyword arguments.

A table's keys are checked against the callable's signature (an unknown key names
the nearest parameter; a required parameter without a key is named), and each value
is converted by ``convert(parameter, value, path)`` (a typed binder reads the
parameter's annotation; an untyped one passes TOML values as they are). It binds
user problem factories (:mod:`mfbd.config.user`) and α schedules
(:mod:`mfbd.config.schedules`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from mfbd.config.toml import ConfigError, nearest

__all__ = ["bind", "named_parameters"]


def named_parameters(fn) -> tuple[dict[str, inspect.Parameter] | None, bool]:
    """The parameters of ``fn`` that a keyword can set (None: no signature), and whether it takes ``**kwargs``."""
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # a builtin without a signature
        return None, True
    named = {k: p for k, p in parameters.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return named, any(p.kind is p.VAR_KEYWORD for p in parameters.values())


def bind(
    fn,
    table: dict,
    where: str,
    owner: str,
    *,
    reserved: tuple[str, ...] = (),
    convert: Callable[[inspect.Parameter, object, str], object] | None = None,
) -> dict:
    """Keyword arguments of ``fn`` from ``table`` (keys of ``[where]``), in signature order where known.

    Args:
      fn: the callable whose signature the table must fit.
      table: the TOML keys and values.
      where: the dotted path of the table (for messages: ``where.key``).
      owner: how messages name ``fn`` (``schedule 'linear'``, a factory path).
      reserved: parameters filled in by the caller: never required of the table.
      convert: ``(parameter, value, path) -> value``; None passes values unchanged.

    Raises:
      ConfigError: an unknown key (the nearest parameter named) or a missing required one.
    """
    parameters, extra = named_parameters(fn)
    if parameters is None:
        return dict(table)
    options = [p for p in parameters if p not in reserved]
    for key in table:
        if key not in parameters and not extra:
            raise ConfigError(f"{where}.{key} is not a parameter of {owner}; {nearest(key, options)}")
    kwargs = {k: v for k, v in table.items() if k not in parameters}  # into **kwargs
    for key, parameter in parameters.items():
        if key in table:
            value = table[key]
            kwargs[key] = value if convert is None else convert(parameter, value, f"{where}.{key}")
        elif parameter.default is inspect.Parameter.empty and key not in reserved:
            raise ConfigError(f"missing key '{where}.{key}' of {owner}: add {key} = ... under [{where}]")
    return kwargs
