"""Shared pieces of the benchmarks: timing, result rows, the machine record.

Every speed number is a ratio of two timings taken in the same process,
interleaved round by round (baseline, candidate, baseline, ...), so that load
from other processes hits both alike; the ratio reported is the median over
rounds of the per-round ratio. Compile time is measured apart, once, with
``jit(f).lower(*args).compile()``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable

import jax
import numpy as np

from experiments.common import machine_record

__all__ = ["Row", "Settings", "Timings", "compile_seconds", "interleaved", "machine", "ready"]


@dataclasses.dataclass(frozen=True)
class Settings:
    """How hard the benchmarks work: ``quick`` shrinks repeats and the slowest sizes."""

    quick: bool = False
    repeats: int = 25

    def reps(self, full: int) -> int:
        """A repeat count: ``full`` normally, at least 3 in quick mode."""
        return max(3, full // 3) if self.quick else full


@dataclasses.dataclass(kw_only=True)
class Row:
    """One line of the results table.

    ``ratio`` is oriented as its ``target`` reads: ``"<= 2.5"`` means smaller is
    better (a time over a baseline time), ``">= 2"`` larger is better (a
    speed-up). A row without a target is context.
    """

    benchmark: str
    case: str
    value: float
    unit: str
    baseline: str = ""
    baseline_value: float = float("nan")
    ratio: float = float("nan")
    target: str = ""
    note: str = ""

    @property
    def met(self) -> str:
        if not self.target:
            return ""
        op, bound = self.target.split()
        compare = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}[op]
        return "met" if compare(self.ratio, float(bound)) else "NOT met"


def ready(x):
    """Wait for every array in ``x`` (JAX dispatch is asynchronous)."""
    return jax.block_until_ready(x)


class Timings:
    """Seconds per call of each name, one entry per round."""

    def __init__(self, times: dict[str, list[float]]):
        self.times = {name: np.asarray(t) for name, t in times.items()}

    def median(self, name: str) -> float:
        return float(np.median(self.times[name]))

    def ratio(self, name: str, baseline: str) -> float:
        """Median over rounds of time(name) / time(baseline)."""
        return float(np.median(self.times[name] / self.times[baseline]))

    def best(self, name: str) -> float:
        """The fastest round of ``name`` (best-of-k: the round least disturbed by other load)."""
        return float(np.min(self.times[name]))

    def best_ratio(self, name: str, baseline: str) -> float:
        """best(name) / best(baseline)."""
        return self.best(name) / self.best(baseline)


def interleaved(fns: dict[str, Callable[[], object]], repeats: int, clock=time.perf_counter) -> Timings:
    """Time zero-argument callables round-robin, ``repeats`` rounds.

    Each callable runs once first (warm-up, not timed). The order within a
    round is shuffled (fixed seed), so that no callable always follows the same
    neighbour (a large matmul leaves cold caches and buffers to free behind it).
    ``clock=time.process_time`` measures CPU seconds (all threads) instead of
    wall-clock, steadier on a machine shared with other jobs.
    """
    for f in fns.values():
        ready(f())
    times = {name: [] for name in fns}
    order = np.random.default_rng(0)
    names = list(fns)
    for _ in range(repeats):
        for name in order.permutation(names):
            start = clock()
            ready(fns[name]())
            times[name].append(clock() - start)
    return Timings(times)


def compile_seconds(fn, *args) -> tuple[float, Callable]:
    """Seconds to lower and compile ``jit(fn)`` for ``args``, and the compiled function."""
    start = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    return time.perf_counter() - start, compiled


def machine() -> dict:
    """Where the numbers came from (:func:`experiments.common.machine_record`); the benchmarks run in float32."""
    return machine_record(dtype="float32")


def standalone(run: Callable, doc: str) -> Callable:
    """``main(argv)`` of one benchmark module run alone: ``--smoke`` (alias ``--quick``), then its table."""

    def main(argv=None) -> int:
        from experiments.benchmarks.run_all import format_table

        parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
        parser.add_argument("--smoke", "--quick", dest="quick", action="store_true")
        args = parser.parse_args(argv)
        print(format_table(run(Settings(quick=args.quick))), flush=True)
        return 0

    return main
