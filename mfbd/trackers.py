"""Live metrics for experiment trackers: each recorded row of a run, as the run makes it.

The runner hands every chunk's recorded rows (one per arm × seed × recorded
step, the rows of ``metrics.csv``) to its reporter; a tracker turns them into
its own format. :class:`TensorBoard` writes TensorBoard event files with
tensorboardX (the optional extra ``mfbd[tensorboard]``): one run folder per arm
and seed, ``LOGDIR/ARM/seed-S``, one scalar tag per numeric column, at the
row's step, so TensorBoard overlays the arms and seeds of a run.

Any other tracker (Weights & Biases, MLflow, aim) needs only a callable that
takes the same rows::

    def log(rows):
        for row in rows:
            wandb.log({k: v for k, v in row.items() if k not in ("arm", "seed")}, step=row["step"])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["TensorBoard", "LABELS"]

#: Columns that name a row rather than measure it.
LABELS = ("arm", "seed", "step", "point", "group")


class TensorBoard:
    """Writes rows of metrics as TensorBoard scalars under ``logdir``.

    Args:
      logdir: the folder of the event files (created if missing).

    Raises:
      ImportError: tensorboardX is not installed, with the command that installs it.
    """

    def __init__(self, logdir):
        try:
            from tensorboardX import SummaryWriter
        except ImportError as e:
            raise ImportError(
                "TensorBoard event files need tensorboardX: pip install 'mfbd[tensorboard]' (or tensorboardX)"
            ) from e
        self._writer_class = SummaryWriter
        self.logdir = Path(logdir)
        self._writers: dict[tuple[str, str], object] = {}

    def _writer(self, run: str, seed) -> object:
        key = (run, str(seed))
        if key not in self._writers:
            self._writers[key] = self._writer_class(logdir=str(self.logdir / run / f"seed-{seed}"))
        return self._writers[key]

    def __call__(self, rows: Iterable[Mapping]) -> None:
        """Adds one scalar per numeric column of each row (a non-finite value is written as it is)."""
        for row in rows:
            run = "/".join(str(row[k]) for k in ("point", "arm") if row.get(k) not in (None, ""))
            writer = self._writer(run, row.get("seed", 0))
            step = int(row["step"])
            for column, value in row.items():
                if column in LABELS or isinstance(value, str | bool):
                    continue
                writer.add_scalar(column, float(value), step)
        for writer in self._writers.values():
            writer.flush()

    def close(self) -> None:
        """Flushes and closes every event file."""
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
