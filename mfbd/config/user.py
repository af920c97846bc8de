"""A researcher's own problem in a config: ``[problem] name = "package.module:factory"``.

::

    [problem]
    name = "examples.tanh_network:tanh_network"   # import examples.tanh_network, call tanh_network(...)
    samples = 64                                   # every other key is a keyword argument

The factory is imported when the config is read and called with the other keys
of ``[problem]`` as keyword arguments, plus ``n`` (the run's width) and
``dtype`` (``jnp.float64`` or ``jnp.float32``, the run's precision) if its
signature names them; it runs under ``jax.enable_x64`` of the run's dtype and
must return an :class:`mfbd.problems.Problem`. Any failure (no such module,
no such attribute, an unknown keyword, the factory raising, something else
returned, the factory calling ``sys.exit``) is a one-line :class:`~mfbd.config.ConfigError` naming
``problem.name`` and the cause. The resolved ``config.toml`` records the
factory path and the keywords, so it re-runs and resumes as is wherever the
module is importable (on ``sys.path``: run from the folder above the package,
or set ``PYTHONPATH``).

Figures: a user problem gets :func:`mfbd.plotting.generic_picture` (the first
two particle coordinates, marker area by weight). To draw its own picture, the
module registers a function ``(config, problem, snapshots, arms) -> Figure`` under
its factory path when it is imported::

    from mfbd import plotting
    plotting.PICTURES["examples.tanh_network:tanh_network"] = my_picture
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import re
import sys

import jax
import jax.numpy as jnp

from mfbd.config import toml as _toml
from mfbd.config.bind import bind, named_parameters
from mfbd.config.kinds import ProblemKind
from mfbd.config.toml import ConfigError
from mfbd.problems.base import Problem

__all__ = ["UserProblem", "is_factory_path", "parse", "build", "problem_from_table", "toml_lines"]

#: ``package.module:factory``: dotted module path, a colon, an attribute name.
_PATH = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*$")
#: Filled in by the runner, not by the config.
_RESERVED = ("n", "dtype")


@dataclasses.dataclass(frozen=True)
class UserProblem:
    """A factory path and its keyword arguments (``options``: sorted ``(key, value)`` pairs, lists as tuples)."""

    name: str
    options: tuple[tuple[str, object], ...] = ()

    @property
    def kwargs(self) -> dict:
        return {k: _unfreeze(v) for k, v in self.options}


def is_factory_path(name) -> bool:
    """True when a ``[problem] name`` asks for a user factory (it contains a colon)."""
    return isinstance(name, str) and ":" in name


def _freeze(value, where):
    if isinstance(value, dict):
        raise ConfigError(f"{where}: a user problem takes numbers, strings, booleans and lists, not a table")
    if isinstance(value, list):
        return tuple(_freeze(v, f"{where}[{i}]") for i, v in enumerate(value))
    return value


def _unfreeze(value):
    return [_unfreeze(v) for v in value] if isinstance(value, tuple) else value


def parse(table: dict) -> UserProblem:
    """The :class:`UserProblem` of a ``[problem]`` table whose name is a factory path; imports the factory."""
    name = table["name"]
    if not _PATH.match(name):
        raise ConfigError(f'problem.name {name!r} is not a factory path; write name = "package.module:factory"')
    for key in _RESERVED:
        if key in table:
            raise ConfigError(f"problem.{key} is set by the runner (from [run]); remove it from [problem]")
    options = tuple(sorted((k, _freeze(v, f"problem.{k}")) for k, v in table.items() if k != "name"))
    problem = UserProblem(name, options)
    _bind(problem)
    return problem


def _factory(problem: UserProblem):
    module_name, _, attribute = problem.name.partition(":")
    where = f"problem.name = {problem.name!r}"
    if os.getcwd() not in sys.path:  # the `mfbd` script, unlike `python -m`, does not look in the current folder
        sys.path.append(os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        raise ConfigError(
            f"{where}: cannot import module {module_name!r} ({e}); it must be importable: run from the folder "
            "that holds it or add that folder to PYTHONPATH"
        ) from None
    except (Exception, SystemExit) as e:  # the module itself fails to import (or exits)
        raise ConfigError(f"{where}: importing {module_name!r} raised {type(e).__name__}: {e}") from None
    factory = getattr(module, attribute, None)
    if factory is None:
        public = [a for a in dir(module) if callable(getattr(module, a)) and not a.startswith("_")]
        raise ConfigError(
            f"{where}: module {module_name!r} has no attribute {attribute!r}; {_toml.nearest(attribute, public)}"
        )
    if not callable(factory):
        raise ConfigError(f"{where}: {attribute!r} is a {type(factory).__name__}, not a callable factory")
    return factory


def _bind(problem: UserProblem, n: int | None = None, dtype=None):
    """The factory and its keyword arguments, checked against its signature (:func:`mfbd.config.bind.bind`)."""
    factory = _factory(problem)
    kwargs = bind(factory, problem.kwargs, "problem", problem.name, reserved=_RESERVED)
    parameters, _ = named_parameters(factory)
    for key, value in (("n", n), ("dtype", dtype)):
        if parameters is not None and key in parameters and value is not None:
            kwargs[key] = value
    return factory, kwargs


def build(problem: UserProblem, n: int, x64: bool) -> Problem:
    """Call the factory (inside ``enable_x64(x64)``) and check that it returned a :class:`Problem`."""
    factory, kwargs = _bind(problem, n, jnp.float64 if x64 else jnp.float32)
    with jax.enable_x64(x64):
        try:
            result = factory(**kwargs)
        except (Exception, SystemExit) as e:  # a factory calling sys.exit does not end mfbd
            message = str(e).splitlines()[0] if str(e) else ""
            raise ConfigError(f"the factory {problem.name!r} raised {type(e).__name__}: {message}") from None
    if not isinstance(result, Problem):
        raise ConfigError(
            f"the factory {problem.name!r} returned a {type(result).__name__}, not an mfbd.problems.Problem "
            "(build one with mfbd.problems.from_data or from_kernel)"
        )
    return result


def problem_from_table(table: dict, registry: dict):
    """The problem config of a ``[problem]`` table: a :class:`UserProblem`, or a bundled one of ``registry``."""
    if is_factory_path(table.get("name")):
        return parse(table)
    return _toml.from_table(_toml.pick("name", table, registry, "problem"), table, "problem", ("name", registry))


def toml_lines(problem) -> list[str]:
    """The ``[problem]`` table of the resolved config.toml (of a user problem or a bundled one)."""
    if not isinstance(problem, UserProblem):
        return _toml.toml_table("problem", problem)
    lines = ["[problem]", f"name = {_toml.toml_value(problem.name)}"]
    lines += [f"{key} = {_toml.toml_value(value)}" for key, value in problem.options]
    return lines + [""]


#: A user factory's :class:`~mfbd.config.kinds.ProblemKind` (its picture key is its factory path).
KIND = ProblemKind(None, build)
