"""The plan of a run: points → groups (one program per group and arm), one memory model, one device check.

Asked once by :func:`mfbd.runner.run`, before the run directory exists (reading a
config never asks it). :func:`check` refuses, with one-line
:class:`~mfbd.config.ConfigError` messages, the sizes of
:func:`mfbd.config.limits.check`, ``run.shard`` with ``n`` not a multiple of the
devices, and a point whose one chunk would need more memory than the device has
(:func:`estimate` against :func:`available`) unless forced (``--force``).
:func:`plan` groups a sweep's points by :func:`~mfbd.config.sweep.program_key` and
splits a group whose batch would not fit into several programs.

The estimate counts, in bytes of the run's dtype: per seed the batched state
(particles, ∇V, V, log-weights, lineages, the optimizer's moments) about four
times over (the chunk's input, its output and the step's temporaries), the
oracle's scratch (one block of rows or samples against all n particles and the
teacher, with the particles' coordinates), the sampled batch, the problem's
constants (the teacher) and the chunk's records. It is an order of magnitude,
meant to stop sizes that cannot fit, not to predict a peak.
"""

from __future__ import annotations

import dataclasses
import os
import resource

import jax

from mfbd.config import limits
from mfbd.config.problems import BLOCK
from mfbd.config.schema import Config, kind_of, make_problem
from mfbd.config.sweep import Sweep, describe, program_key
from mfbd.config.toml import ConfigError

__all__ = ["Plan", "available", "check", "check_devices", "copy_bytes", "estimate", "make", "plan"]

COPIES = 4  # the state's copies alive during a chunk (input, output, the step's temporaries)
PAIR = 8  # values the kernel oracle keeps per (row, particle) pair
COLUMNS = 12  # columns of a metrics record (step, the Info fields, observables)


def _gib(nbytes: float) -> str:
    """Bytes in GiB, or in MiB below one GiB (so a small size never reads "0.0 GiB")."""
    return f"{nbytes / 2**30:,.1f} GiB" if nbytes >= 2**30 else f"{nbytes / 2**20:,.1f} MiB"


def _unit_scalars(config: Config) -> int:
    """Numbers per particle: the student–teacher (c, z) from its fields (its teacher is not built),
    any other problem from the shapes of one drawn particle (built: cheap without a teacher)."""
    problem = config.problem
    if kind_of(problem).unit_scalars is not None:
        return kind_of(problem).unit_scalars(problem)
    try:
        built = make_problem(problem, config.run.n, config.run.dtype == "float64")
    except ValueError as e:  # as mfbd.config.validate words it
        raise ConfigError(f"problem: {e}") from None
    one = jax.eval_shape(lambda k: built.init_particles(k, 1), jax.random.key(0))
    return max(1, sum(leaf.size for leaf in jax.tree_util.tree_leaves(one)))


def estimate(config: Config) -> dict[str, float]:
    """Bytes of one chunk of ``config``, by part (see the module docstring)."""
    problem, run = config.problem, config.run
    size = 8 if run.dtype == "float64" else 4
    seeds = len(run.seed_list) if not isinstance(run.seeds, int) else run.seeds
    n = run.n
    teacher, batch = kind_of(problem).teacher(problem)
    scalars = _unit_scalars(config)  # per unit: (y, c), (c, z) or a sampler's x
    dim = scalars - 1 if teacher else scalars
    moments = max((2 if arm.optimizer == "adam" else 1 if arm.optimizer else 0) for _, arm in config.arms)
    state = n * (scalars * (2 + moments) + 3) * size
    if batch:  # one block of samples against the n units, and the batch itself
        scratch = min(batch, BLOCK) * (n + teacher + dim) * size + batch * dim * size
    else:  # one block of rows against the n units and the teacher: values per pair (kernel, derivatives, x_i - x_j)
        block = getattr(problem, "block_size", BLOCK)
        scratch = min(n, block) * (n + teacher) * (PAIR + dim) * size
    records = config.chunk // run.record_every * seeds * COLUMNS * 8
    return {
        "state": float(seeds) * COPIES * state,
        "oracle": float(seeds) * scratch,
        "constants": float(teacher) * dim * size,
        "records": float(records),
    }


def copy_bytes(config: Config) -> int:
    """Estimated bytes of one copy (one seed of one point) of ``config``'s chunk (:func:`estimate`)."""
    return int(sum(estimate(dataclasses.replace(config, run=dataclasses.replace(config.run, seeds=1))).values()))


def available() -> tuple[float, str]:
    """Bytes the default device can still give, and the device's name.

    GPU/TPU: ``bytes_limit - bytes_in_use`` of its memory stats. CPU: the available
    RAM (``MemAvailable``, else ``os.sysconf``), capped by an address-space rlimit.
    """
    device = jax.devices()[0]
    if device.platform != "cpu":
        stats = device.memory_stats() or {}
        if "bytes_limit" in stats:
            return float(stats["bytes_limit"] - stats.get("bytes_in_use", 0)), f"{device.platform} device {device.id}"
    free = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    free = float(line.split()[1]) * 1024
    except OSError:
        pass
    if free is None:
        free = float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    if limit != resource.RLIM_INFINITY:
        free = min(free, float(limit))
    return free, "this machine's RAM"


def check_devices(config: Config) -> None:
    """``run.shard`` needs n a multiple of the visible devices."""
    if config.run.shard and config.run.n % jax.device_count():
        count = jax.device_count()
        raise ConfigError(f"run.shard: n = {config.run.n} must be a multiple of the {count} devices; set run.n")


def check(config: Config, force: bool = False) -> None:
    """Refuse sizes beyond the counters and a chunk beyond the memory (unless ``force``).

    Raises:
      ConfigError: one line with the limit, or the estimate against the memory available.
    """
    limits.check(config)
    if force:
        return
    parts = estimate(config)
    need = sum(parts.values())
    free, where = available()
    if need > free:
        largest = max(parts, key=parts.get)
        raise ConfigError(
            f"one chunk needs about {_gib(need)} ({largest}: {_gib(parts[largest])}) but {where} has "
            f"{_gib(free)} available; lower run.n, run.seeds, run.chunk or the problem's sizes (or pass --force)"
        )


def plan(sweep: Sweep, memory: int | None = None) -> tuple[list[list[int]], list[str]]:
    """The programs of a sweep: point indices per group, and a line for every group that had to be split.

    Points that share a :func:`~mfbd.config.sweep.program_key` form a group (in order of first
    appearance); a group is split into parts of at most ``memory // (copy_bytes · seeds)`` points
    when its batch would not fit (``memory``: default half of :func:`available`).
    """
    memory = int(available()[0]) // 2 if memory is None else memory
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
                f"sweep: the {len(members)} points of n = {cfg.run.n} need ~{_gib(per_point * len(members))} "
                f"as one program ({seeds} seeds each; {_gib(memory)} available): "
                f"split into {len(parts)} programs of at most {fit} points"
            )
            groups += parts
        else:
            groups.append(members)
    return groups, notes


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a run will do: its groups of point indices (a plain run: one group of point 0) and notes."""

    groups: list[list[int]]
    notes: list[str]


def make(spec: Config | Sweep, *, force: bool = False, memory: int | None = None) -> Plan:
    """Check every point (sizes, memory unless ``force``, devices) and group the points; nothing is written.

    Raises:
      ConfigError: one line naming the point (of a sweep) and the limit.
    """
    if isinstance(spec, Config):
        check_devices(spec)
        check(spec, force)
        return Plan([[0]], [])
    seen = set()
    for i, cfg in enumerate(spec.configs):
        key = (cfg.run, cfg.problem)
        if key in seen:
            continue
        seen.add(key)
        try:
            check_devices(cfg)
            check(cfg, force)
        except ConfigError as e:
            raise ConfigError(f"sweep point {i} ({describe(spec.keys, spec.points[i])}): {e}") from None
    groups, notes = plan(spec, memory)
    return Plan(groups, notes)
