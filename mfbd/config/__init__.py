"""Experiment configs: TOML files read into frozen dataclasses (pure: no device or memory is asked).

:func:`load` reads a config file (or a bundled name) with ``--set`` overrides into a
:class:`Config`, or a :class:`~mfbd.config.sweep.Sweep` when it has a ``[sweep]`` table.
The schema is :mod:`mfbd.config.schema`; the generic TOML layer and the one owner of
dotted keys :mod:`mfbd.config.toml`; the one binder from a table to a callable's
keywords :mod:`mfbd.config.bind`; sampling mode :mod:`mfbd.config.sampling`; user
problems :mod:`mfbd.config.user`; α schedules :mod:`mfbd.config.schedules`; sweeps
:mod:`mfbd.config.sweep`.
"""

from __future__ import annotations

from mfbd.config import limits, sweep
from mfbd.config.schema import (
    KINDS,
    PROBLEMS,
    SCHEMES,
    Arm,
    BirthDeathArm,
    Config,
    GaussianMixture1D,
    GradientFlowArm,
    ReweightingArm,
    Run,
    StudentTeacher,
    bundled,
    kind_of,
    make_observe,
    make_problem,
    make_scheme,
)
from mfbd.config.sweep import Sweep, dumps, load, parse, read, shrink, validate
from mfbd.config.toml import ConfigError, apply_overrides, find, read_toml

_ = sweep  # the submodule, for mfbd.config.sweep

__all__ = [
    "ConfigError",
    "Config",
    "Sweep",
    "Run",
    "Arm",
    "GaussianMixture1D",
    "StudentTeacher",
    "GradientFlowArm",
    "BirthDeathArm",
    "ReweightingArm",
    "PROBLEMS",
    "KINDS",
    "kind_of",
    "SCHEMES",
    "bundled",
    "load",
    "read",
    "parse",
    "dumps",
    "apply_overrides",
    "read_toml",
    "make_problem",
    "make_scheme",
    "make_observe",
    "shrink",
    "validate",
    "limits",
    "find",
]
