"""Sizes a config may not have on any machine: beyond the counters (a problem kind checks its own sizes).

Pure (no device, no memory query): whether a run fits this machine is asked by
the runner (:mod:`mfbd.runner.plan`) before it writes anything.
"""

from __future__ import annotations

from mfbd.config.toml import ConfigError

__all__ = ["STEP_LIMIT", "SEED_LIMIT", "check"]

STEP_LIMIT = 2**31 - 1  # the int32 step counter of mfbd.State
SEED_LIMIT = 2**32 - 1  # jax.random.key takes a uint32 seed


def check(config) -> None:
    """Refuse a step count beyond the int32 counter, seeds beyond uint32 (or repeated), unblockable batches.

    Raises:
      ConfigError: one line with the limit and the fix.
    """
    run = config.run
    if run.steps > STEP_LIMIT:
        raise ConfigError(f"run.steps ({run.steps}) exceeds the int32 step counter ({STEP_LIMIT}); lower it")
    if isinstance(run.seeds, int):  # a count: never listed here (10⁹ seeds is a size, refused by the runner)
        if run.seeds < 1:
            raise ConfigError(f"run.seeds must be ≥ 1 (a count) or a list of seeds, got {run.seeds}")
        if run.seeds - 1 > SEED_LIMIT:
            raise ConfigError(f"run.seeds ({run.seeds}) exceeds the uint32 range of a key (≤ {SEED_LIMIT + 1} seeds)")
    elif not run.seeds or len(set(run.seeds)) != len(run.seeds) or min(run.seeds) < 0:
        raise ConfigError(f"run.seeds must be a non-empty list of distinct seeds ≥ 0, got {list(run.seeds)}")
    elif max(run.seeds) > SEED_LIMIT:
        raise ConfigError(f"run.seeds: seed {max(run.seeds)} exceeds the uint32 range of a key (≤ {SEED_LIMIT})")
