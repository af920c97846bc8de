"""What one machine can hold: a run's sizes checked against its memory before anything is written.

:func:`check` refuses, with one-line :class:`~mfbd.config.ConfigError` messages,
the sizes of :func:`mfbd.config.limits.check` and a run whose one chunk would need
more memory than the device has (:func:`estimate`, against :func:`available`),
unless forced (the command's ``--force``). The runner asks it once, before the
run directory exists; reading a config never does.

The estimate counts, in bytes of the run's dtype: per seed the batched state
(particles, ∇V, V, log-weights, lineages, the optimizer's moments) about four
times over (the chunk's input, its output and the step's temporaries), the
oracle's scratch (one block of rows or samples against all n particles and the
teacher), the sampled batch, the problem's constants (the teacher) and the
chunk's records. It is an order of magnitude, meant to stop sizes that cannot
fit, not to predict a peak.
"""

from __future__ import annotations

import os
import resource

from mfbd.config import limits
from mfbd.config.limits import BLOCK
from mfbd.config.toml import ConfigError

__all__ = ["check", "estimate", "available"]

COPIES = 4  # the state's copies alive during a chunk (input, output, the step's temporaries)
PAIR = 8  # values the kernel oracle keeps per (row, particle) pair
COLUMNS = 12  # columns of a metrics record (step, the Info fields, observables)


def _gib(nbytes: float) -> str:
    """Bytes in GiB, or in MiB below one GiB (so a small size never reads "0.0 GiB")."""
    return f"{nbytes / 2**30:,.1f} GiB" if nbytes >= 2**30 else f"{nbytes / 2**20:,.1f} MiB"


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


def check(config, force: bool = False) -> None:
    """Refuse sizes beyond the counters (:func:`mfbd.config.limits.check`) and chunks beyond the memory.

    Args:
      config: a :class:`mfbd.config.Config` (its fields checked one by one already).
      force: skip the memory refusal (the command's ``--force``).

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
