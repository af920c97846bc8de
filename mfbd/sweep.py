"""Sweeps: a ``[sweep]`` table of dotted config keys mapped to lists of values.

::

    [sweep]
    "arms.bd.alpha" = [0.01, 0.1, 1.0]   # or nested: arms.bd.alpha = [...]
    "run.n" = [50, 100]
    mode = "product"                     # the cartesian product (default), or "zip" for paired lists
    reference = "gd"                     # the arm the speed-ups are measured against (default: the first)

``mfbd run CONFIG`` runs every point; ``--set sweep.arms.bd.alpha=[1,10]``
sets or replaces a swept list. Every point is a whole config, validated as one.

**One program per shape.** The scalar arm parameters in :data:`TRACED` (α,
Δt, the noise temperature, the quench length, the resampling threshold) do
not change any shape: the points that differ only in them form one *group*,
and each arm of a group runs as one compiled program, vmapped over its
distinct values × the seeds (the scheme is built inside the program with
traced values). Any other swept key (n, steps, the problem, a scheme's
option...) starts a new group. A group whose batch would not fit in memory
(:func:`copy_bytes` per copy, against :func:`memory_budget`) is split into
several programs, and the plan says so.

**The run directory** holds ``config.toml`` (the resolved config with its
``[sweep]`` table: it re-runs as is), ``metadata.json`` (sessions, groups),
the index ``sweep.csv`` (one row per point: ``point``, ``group``, the swept
values) and one sub-directory per group, ``group-000/`` ..., each with its own
``metrics.csv`` (columns ``point``, the swept keys, then those of a run's
metrics.csv), ``checkpoint.npz`` and ``snapshots/`` (the batch axis is
variant-major: entry v·S + s is seed s of the arm's v-th distinct value).
``mfbd run --resume DIR`` continues a group where it stopped; ``mfbd plot DIR``
draws the sweep figure and table (:mod:`mfbd.plotting_sweep`). The running
lives in :mod:`mfbd.sweep_run`.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import jax
import numpy as np

from mfbd import config, rundir
from mfbd.config import toml as _toml
from mfbd.config.sweep import MAX_POINTS, TRACED, Sweep, describe, dumps, program_key
from mfbd.config.toml import ConfigError

__all__ = [
    "INDEX",
    "MAX_POINTS",
    "TRACED",
    "Sweep",
    "copy_bytes",
    "describe",
    "dumps",
    "group_dir",
    "is_sweep_dir",
    "load",
    "memory_budget",
    "plan",
    "read_points",
    "requested",
]

INDEX = "sweep.csv"


def requested(source: str, sets=()) -> bool:
    """True when the config ``source`` has a ``[sweep]`` table or a ``--set sweep...`` asks for one."""
    if any(item.partition("=")[0].strip().split(".")[0] == "sweep" for item in sets):
        return True
    try:
        return "sweep" in _toml.read_toml(_toml.find(source, config.bundled()))
    except ConfigError:
        return False  # the ordinary loader reports it


def load(source: str, sets=(), *, force: bool = False) -> Sweep:
    """Read, override and validate a sweep config (:func:`mfbd.config.load` of a config with ``[sweep]``)."""
    spec = config.read(source, sets, force=force)
    if not isinstance(spec, Sweep):
        raise ConfigError(f"{source}: no [sweep] table; add one or run it as a plain config")
    return spec


# --- groups and memory --------------------------------------------------------------------------------------------


def _largest_intermediate(jaxpr) -> int:
    """Bytes of the largest array any equation of ``jaxpr`` (or of a sub-jaxpr) produces."""
    best = 0
    for eqn in jaxpr.eqns:
        for var in eqn.outvars:
            shape, dtype = getattr(var.aval, "shape", None), getattr(var.aval, "dtype", None)
            if shape is not None and dtype is not None and hasattr(dtype, "itemsize"):
                best = max(best, math.prod(shape) * dtype.itemsize)
        for param in eqn.params.values():
            for sub in param if isinstance(param, tuple | list) else (param,):
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    best = max(best, _largest_intermediate(inner))
    return best


def copy_bytes(cfg: config.Config) -> int:
    """Estimated device bytes of one copy (one seed of one point) of the heaviest arm of ``cfg``.

    Three copies of the state (the scan's carry, the step's output, the
    reaction's gathers), four of the largest intermediate of one step (its
    inputs and gradients live beside it) and the chunk's records.
    """
    x64 = cfg.run.dtype == "float64"
    with jax.enable_x64(x64):
        problem = config.make_problem(cfg.problem, cfg.run.n, x64)
        key = jax.random.key(0)
        particles = jax.eval_shape(lambda k: problem.init_particles(k, cfg.run.n), key)
        best = 0
        for _, arm in cfg.arms:
            scheme = config.make_scheme(problem, arm, cfg.run.steps)
            state = jax.eval_shape(scheme.init, particles, key)
            state_bytes = sum(leaf.size * leaf.dtype.itemsize for leaf in jax.tree_util.tree_leaves(state))
            largest = _largest_intermediate(jax.make_jaxpr(scheme.step)(key, state).jaxpr)
            best = max(best, 3 * state_bytes + 4 * largest)
    records = cfg.chunk // cfg.run.record_every
    return best + records * 16 * 8


def memory_budget() -> int:
    """Bytes a sweep's program may use: half the first device's limit (GPU), else half the free host memory."""
    stats = getattr(jax.local_devices()[0], "memory_stats", lambda: None)() or {}
    if "bytes_limit" in stats:
        return int(stats["bytes_limit"] - stats.get("bytes_in_use", 0)) // 2
    try:
        with open("/proc/meminfo") as f:
            free = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f}
        return free["MemAvailable"] // 2
    except (OSError, KeyError, ValueError):
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")) // 4


def plan(sweep: Sweep, memory: int | None = None) -> tuple[list[list[int]], list[str]]:
    """The programs of a sweep: point indices per group, and a line for every group that had to be split.

    Points that share a :func:`_program_key` form a group (in order of first
    appearance); a group is split into parts of at most
    ``memory // (copy_bytes · seeds)`` points when its batch would not fit.
    """
    memory = memory_budget() if memory is None else memory
    by_key: dict = {}
    for i, cfg in enumerate(sweep.configs):
        by_key.setdefault(program_key(cfg), []).append(i)
    groups, notes = [], []
    for members in by_key.values():
        cfg = sweep.configs[members[0]]
        seeds = len(cfg.run.seed_list)
        per_point = copy_bytes(cfg) * seeds
        fit = max(1, memory // per_point)
        if len(members) > fit:
            parts = [members[i : i + fit] for i in range(0, len(members), fit)]
            notes.append(
                f"sweep: the {len(members)} points of n = {cfg.run.n} need ~{per_point * len(members) / 2**30:.2f} "
                f"GiB as one program ({seeds} seeds each; {memory / 2**30:.2f} GiB available): "
                f"split into {len(parts)} programs of at most {fit} points"
            )
            groups += parts
        else:
            groups.append(members)
    return groups, notes


# --- the run directory --------------------------------------------------------------------------------------------


def group_dir(run_dir, g: int) -> Path:
    return Path(run_dir) / f"group-{g:03d}"


def is_sweep_dir(run_dir) -> bool:
    return (Path(run_dir) / INDEX).is_file() and (Path(run_dir) / rundir.CONFIG).is_file()


def cell(value) -> str:
    """A swept value as written in the CSV files."""
    return rundir._format(value) if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def read_index(run_dir) -> tuple[list[str], list[dict]]:
    """The swept keys and the rows of ``sweep.csv`` (``point``, ``group`` as ints, the values as text)."""
    with open(Path(run_dir) / INDEX, newline="") as f:
        rows = list(csv.DictReader(f))
    keys = [c for c in rows[0] if c not in ("point", "group")]
    return keys, [{**r, "point": int(r["point"]), "group": int(r["group"])} for r in rows]


def read_points(run_dir) -> list[dict]:
    """Every point of a sweep run: ``{"point", "group", "values": {key: text}, "metrics": {arm: {col: [S, R]}}}``.

    ``metrics`` is as :func:`mfbd.rundir.read_metrics` gives it for a run; an
    arm that stopped on a non-finite value has its records up to the stop.
    """
    keys, index = read_index(run_dir)
    by_point: dict[int, dict] = {}
    for g in sorted({r["group"] for r in index}):
        path = group_dir(run_dir, g) / rundir.METRICS
        if not path.is_file():
            continue
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                arm, seed = row["arm"], int(row["seed"])
                by_point.setdefault(int(row["point"]), {}).setdefault(arm, {}).setdefault(seed, []).append(row)
    out = []
    for entry in index:
        metrics = {}
        for arm, seeds in by_point.get(entry["point"], {}).items():
            runs = [sorted(rows, key=lambda r: int(r["step"])) for rows in seeds.values()]
            length = min(map(len, runs))
            columns = [c for c in runs[0][0] if c not in ("point", "arm", "seed", *keys)]
            metrics[arm] = {c: np.array([[float(r[c]) for r in rows[:length]] for rows in runs]) for c in columns}
            metrics[arm]["seed"] = np.array(list(seeds))
        values = {k: entry[k] for k in keys}
        out.append({"point": entry["point"], "group": entry["group"], "values": values, "metrics": metrics})
    return out
