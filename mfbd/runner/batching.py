"""How a sweep group's values share one compiled program: vmapped in calls of a measured size.

Apart from :mod:`mfbd.runner.plan` (the memory model, which groups the points) so that the loop's
import chain stays short.
"""

from __future__ import annotations

from collections.abc import Callable

import jax

from mfbd.config.schema import Config, kind_of

__all__ = ["PAIRS", "in_calls", "values_per_call"]

PAIRS = 500_000  # pair intermediates a vmapped kernel-mode program holds at once before they fall out of cache


def values_per_call(config: Config, values: int) -> int:
    """How many of a group's ``values`` one call of its program vmaps; it loops over the rest (``lax.map``).

    The measured rule (issue 24, 2 CPU cores): transport holds B·min(block, n)·n pair values at once for a
    batch of B = values × seeds copies, and beyond about :data:`PAIRS` of them a vmapped step costs 4-5x
    more per copy than a run's own. The largest divisor p of ``values`` with p·seeds·min(block, n)·n ≤
    PAIRS (at least 1); all of them for data-mode problems (the rule was measured on kernel-mode pairs).
    """
    teacher, batch = kind_of(config.problem).teacher(config.problem)
    if batch:
        return values
    n, seeds = config.run.n, len(config.run.seed_list)
    pairs = seeds * min(getattr(config.problem, "block_size", n), n) * n
    return max(p for p in range(1, values + 1) if values % p == 0 and (p == 1 or p * pairs <= PAIRS))


def in_calls(batched: Callable, calls: int) -> Callable:
    """``batched`` (a function vmapped over the leading axis of its arguments and results) applied to
    ``calls`` consecutive equal slices of that axis one after another (``lax.map``), in one program."""
    if calls == 1:
        return batched

    def looped(*args):
        sliced = jax.tree_util.tree_map(lambda a: a.reshape((calls, -1) + a.shape[1:]), args)
        out = jax.lax.map(lambda xs: batched(*xs), sliced)
        return jax.tree_util.tree_map(lambda a: a.reshape((-1,) + a.shape[2:]), out)

    return looped
