"""Progress of a session: the :class:`Reporter` protocol the runner calls, and the ``mfbd`` command's two
reporters, :class:`ProgressBar` on a terminal and :class:`ProgressLines` everywhere else (a batch log,
``nohup``, ``| tee``). Free of JAX, so ``mfbd --help`` stays quick.

Overall progress counts arm-steps: a session of G groups of K arms of T steps has G·K·T; an arm that
stops early (non-finite) counts its remaining steps as done, and a resumed session starts from the
steps its checkpoints already hold. The overall ETA is the remaining arm-steps at the session's mean
rate since its first report (compilation of later arms included, so it is an estimate).
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import sys
import time
from collections.abc import Callable, Sequence

__all__ = ["Reporter", "Position", "ProgressBar", "ProgressLines", "Reporters"]


@dataclasses.dataclass(frozen=True)
class Position:
    """Where a session is: group ``group`` of ``groups`` and arm ``arm`` of ``arms`` (1-based), and the
    session's arm-steps ``done`` of ``total``."""

    group: int
    groups: int
    arm: int
    arms: int
    done: int
    total: int

    def text(self) -> str:
        where = f"group {self.group}/{self.groups}, " if self.groups > 1 else ""
        return f"{where}arm {self.arm}/{self.arms}, overall {100 * self.done / max(self.total, 1):.0f}%"


class Reporter:
    """Progress of a session. After every chunk the runner calls :meth:`rows` with the chunk's recorded
    rows, :meth:`overall` with the session's :class:`Position`, then ``reporter(arm, steps_done, steps)``
    (the arm's own steps; a sweep's arm is named ``group-NNN/ARM``); :meth:`close` once at the end.
    Every method does nothing by default; a plain callable is wrapped (``Reporter(callback)``)."""

    def __init__(self, callback: Callable[[str, int, int], None] | None = None):
        self.callback = callback

    def __call__(self, arm: str, done: int, total: int) -> None:
        if self.callback is not None:
            self.callback(arm, done, total)

    def rows(self, rows: Sequence[dict]) -> None:
        """The rows a chunk added to metrics.csv, as ``{column: value}`` (numbers as numbers)."""

    def overall(self, position: Position) -> None:
        """The session's position, just before the chunk's ``__call__``."""

    def close(self) -> None:
        """End of the session (a progress bar ends its line)."""


class Reporters(Reporter):
    """Several reporters as one (a progress display and a tracker); ``tracker(rows)`` callables are wrapped."""

    def __init__(self, *parts):
        super().__init__()
        self.parts = [p for p in parts if p is not None]

    def __call__(self, arm, done, total):
        for p in self.parts:
            if isinstance(p, Reporter):
                p(arm, done, total)

    def rows(self, rows):
        for p in self.parts:
            p.rows(rows) if isinstance(p, Reporter) else p(rows)

    def overall(self, position):
        for p in self.parts:
            if isinstance(p, Reporter):
                p.overall(position)

    def close(self):
        for p in self.parts:
            if hasattr(p, "close"):
                p.close()


def _duration(seconds: float) -> str:
    return str(datetime.timedelta(seconds=round(seconds))) if math.isfinite(seconds) else "?"


class _Progress(Reporter):
    """The rates both displays show: the arm's own (from its first report, so its compilation is not
    counted) and the session's overall (from the session's first report)."""

    def __init__(self, stream=None):
        super().__init__()
        self.stream = stream if stream is not None else sys.stderr
        self.start: tuple[str, float, int] | None = None
        self.first: tuple[float, int] | None = None
        self.position: Position | None = None

    def overall(self, position: Position) -> None:
        self.position = position

    def _arm(self, arm: str, done: int, total: int, now: float) -> tuple[str, str]:
        if self.start is None or self.start[0] != arm or done < self.start[2]:
            self.start = (arm, now, done)
            return "- steps/s", "?"  # this arm's first chunk: its compilation included
        _, t0, d0 = self.start
        rate = (done - d0) / max(now - t0, 1e-9)
        return f"{rate:,.0f} steps/s", _duration((total - done) / rate if rate > 0 else math.inf)

    def _overall(self, now: float) -> str:
        p = self.position
        if p is None:
            return ""
        if self.first is None:
            self.first = (now, p.done)
        t0, d0 = self.first
        rate = (p.done - d0) / max(now - t0, 1e-9)
        eta = _duration((p.total - p.done) / rate) if rate > 0 else "?"
        return f"  [{p.text()}, ETA {eta}]"


class ProgressBar(_Progress):
    """A one-line bar on a terminal, redrawn per chunk: arm, its steps, steps/s and ETA, then the overall
    position (group k/G, arm k/K, percent of the session's arm-steps) and overall ETA."""

    def __init__(self, stream=None, width: int = 28):
        super().__init__(stream)
        self.width, self.drawn = width, False

    def __call__(self, arm: str, done: int, total: int):
        now = time.perf_counter()
        rate_text, eta_text = self._arm(arm, done, total, now)
        fill = round(self.width * done / total)
        bar = "#" * fill + "-" * (self.width - fill)
        line = f"\r{arm:>12} [{bar}] {done}/{total} steps  {rate_text}  ETA {eta_text}{self._overall(now)}  "
        self.stream.write(line)
        self.stream.flush()
        self.drawn = True

    def close(self):
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False


class ProgressLines(_Progress):
    """Progress as whole lines, for a stream that is not a terminal: a line when the session's overall
    percent passes a multiple of ``percent``, when ``seconds`` have passed since the last line, and when
    an arm ends; no carriage returns, so a batch log or a notebook cell reads line by line."""

    def __init__(self, stream=None, percent: float = 5.0, seconds: float = 10.0):
        super().__init__(stream)
        self.percent, self.seconds = percent, seconds
        self.last: tuple[float, float] | None = None  # (time, percent) of the last line

    def __call__(self, arm: str, done: int, total: int):
        now = time.perf_counter()
        rate_text, eta_text = self._arm(arm, done, total, now)
        p = self.position
        share = 100 * (p.done / max(p.total, 1) if p is not None else done / total)
        due = self.last is None or done == total or now - self.last[0] >= self.seconds
        due = due or share // self.percent > self.last[1] // self.percent
        overall = self._overall(now)
        if due:
            self.stream.write(f"mfbd: {arm} {done}/{total} steps  {rate_text}  ETA {eta_text}{overall}\n")
            self.stream.flush()
            self.last = (now, share)
