"""Deprecated (one release): sweeps moved to :mod:`mfbd.config.sweep` (parsing), :mod:`mfbd.runner.plan`
(groups and memory) and :mod:`mfbd.runner.rundir` (the layout); ``load`` is :func:`mfbd.config.read`."""

from mfbd.config import ConfigError, bundled, find, read, read_toml
from mfbd.config.sweep import MAX_POINTS, TRACED, Sweep, describe, dumps, program_key  # noqa: F401
from mfbd.runner.plan import copy_bytes, plan  # noqa: F401
from mfbd.runner.rundir import INDEX, cell, group_dir, read_index, read_points  # noqa: F401


def load(source: str, sets=(), *, force: bool = False) -> Sweep:
    spec = read(source, sets, force=force)
    if not isinstance(spec, Sweep):
        raise ConfigError(f"{source}: no [sweep] table; add one or run it as a plain config")
    return spec


def requested(source: str, sets=()) -> bool:
    """True when the config ``source`` has a ``[sweep]`` table or a ``--set sweep...`` asks for one."""
    if any(item.partition("=")[0].strip().split(".")[0] == "sweep" for item in sets):
        return True
    try:
        return "sweep" in read_toml(find(source, bundled()))
    except ConfigError:
        return False
