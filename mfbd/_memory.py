"""What one machine can hold: a run's sizes checked against its limits before anything is built.

:func:`check` refuses, with one-line :class:`~mfbd._toml.ConfigError` messages,

* a step count beyond the int32 step counter of :class:`mfbd.State` (2³¹ - 1),
  and seeds beyond the uint32 range of ``jax.random.key``;
* a data-mode batch that the blocked oracle cannot split (not a multiple of its block);
* a run whose one chunk would need more memory than the device has
  (:func:`estimate`, against :func:`available`), unless forced
  (:func:`forcing`, the command's ``--force``).

The estimate counts, in bytes of the run's dtype: per seed the batched state
(particles, ∇V, V, log-weights, lineages, the optimizer's moments) about four
times over (the chunk's input, its output and the step's temporaries), the
oracle's scratch (one block of rows or samples against all n particles and the
teacher), the sampled batch, the problem's constants (the teacher) and the
chunk's records. It is an order of magnitude, meant to stop sizes that cannot
fit, not to predict a peak.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import os
import resource

import mfbd
from mfbd._toml import ConfigError

__all__ = ["STEP_LIMIT", "SEED_LIMIT", "check", "estimate", "available", "forcing"]

STEP_LIMIT = 2**31 - 1  # the int32 step counter
SEED_LIMIT = 2**32 - 1  # jax.random.key takes a uint32 seed
BLOCK = inspect.signature(mfbd.problems.student_teacher).parameters["block_size"].default
COPIES = 4  # the state's copies alive during a chunk (input, output, the step's temporaries)
PAIR = 8  # values the kernel oracle keeps per (row, particle) pair
COLUMNS = 12  # columns of a metrics record (step, the Info fields, observables)

_forced = contextvars.ContextVar("mfbd_memory_forced", default=False)


@contextlib.contextmanager
def forcing(force: bool = True):
    """Within the block, :func:`check` does not refuse a run for its memory estimate."""
    token = _forced.set(force)
    try:
        yield
    finally:
        _forced.reset(token)


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:,.1f} GiB"


def estimate(config) -> dict[str, float]:
    """Bytes of one chunk of ``config``, by part (see the module docstring)."""
    problem, run = config.problem, config.run
    size = 8 if run.dtype == "float64" else 4
    seeds = run.seeds if isinstance(run.seeds, int) else len(run.seeds)
    n = run.n
    if problem.name == "student_teacher":
        dim, teacher = problem.dim, problem.teacher_width
        batch = problem.batch_size if problem.mode == "data" else 0
    else:
        dim, teacher, batch = 1, 0, 0
    scalars = dim + 1  # per unit: (y, c) or (c, z)
    moments = max((2 if arm.optimizer == "adam" else 1 if arm.optimizer else 0) for _, arm in config.arms)
    state = n * (scalars * (2 + moments) + 3) * size
    if batch:  # one block of samples against the n units, and the batch itself
        scratch = min(batch, BLOCK) * (n + teacher + dim) * size + batch * dim * size
    else:  # one block of rows against the n units and the teacher: a few values per pair (kernel, derivatives)
        scratch = min(n, BLOCK) * (n + teacher) * PAIR * size
    records = config.chunk // run.record_every * seeds * COLUMNS * 8
    return {
        "state": float(seeds) * COPIES * state,
        "oracle": float(seeds) * scratch,
        "constants": float(teacher) * dim * size,
        "records": float(records),
    }


def available() -> tuple[float, str]:
    """Bytes the default device can still give, and the device's name.

    GPU/TPU: ``bytes_limit - bytes_in_use`` of its memory stats. CPU: the available
    RAM (``MemAvailable``, else ``os.sysconf``), capped by an address-space rlimit.
    """
    import jax

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


def _check_blocks(problem):
    """The blocked data-mode oracle splits a batch into blocks of BLOCK samples."""
    if problem.name == "student_teacher" and problem.mode == "data" and problem.batch_size > BLOCK:
        if problem.batch_size % BLOCK:
            lower, upper = problem.batch_size // BLOCK * BLOCK, -(-problem.batch_size // BLOCK) * BLOCK
            raise ConfigError(
                f"problem.batch_size ({problem.batch_size}) must be at most {BLOCK} or a multiple of {BLOCK} "
                f"(the oracle's block); use {lower} or {upper}"
            )


def check(config, force: bool | None = None) -> None:
    """Refuse sizes beyond the counters, batches the oracle cannot block, and chunks beyond the memory.

    Args:
      config: a :class:`mfbd.config.Config` (its fields checked one by one already).
      force: skip the memory refusal; None: as set by :func:`forcing`.

    Raises:
      ConfigError: one line with the limit, or the estimate against the memory available.
    """
    run = config.run
    if run.steps > STEP_LIMIT:
        raise ConfigError(f"run.steps ({run.steps}) exceeds the int32 step counter ({STEP_LIMIT}); lower it")
    if isinstance(run.seeds, int):  # a count: never listed here (10⁹ seeds is a size, refused below)
        if run.seeds < 1:
            raise ConfigError(f"run.seeds must be ≥ 1 (a count) or a list of seeds, got {run.seeds}")
        if run.seeds - 1 > SEED_LIMIT:
            raise ConfigError(f"run.seeds ({run.seeds}) exceeds the uint32 range of a key (≤ {SEED_LIMIT + 1} seeds)")
    elif not run.seeds or len(set(run.seeds)) != len(run.seeds) or min(run.seeds) < 0:
        raise ConfigError(f"run.seeds must be a non-empty list of distinct seeds ≥ 0, got {list(run.seeds)}")
    elif max(run.seeds) > SEED_LIMIT:
        raise ConfigError(f"run.seeds: seed {max(run.seeds)} exceeds the uint32 range of a key (≤ {SEED_LIMIT})")
    _check_blocks(config.problem)
    if force if force is not None else _forced.get():
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
