"""The records of a run directory: ``metrics.csv`` (a run's, or a sweep group's with its point columns
first) and the particle snapshots; written and read here only (:mod:`mfbd.runner.rundir` re-exports)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path

import jax
import numpy as np

from mfbd.config.toml import toml_value
from mfbd.runner._io import DAMAGE, METRICS, SNAPSHOTS, atomic_write, number, unreadable
from mfbd.schemes.base import Info

__all__ = ["MetricsWriter", "read_metrics", "read_group_metrics", "truncate_metrics", "write_snapshot"]
__all__ += ["read_snapshots", "cell"]


def cell(value) -> str:
    """A swept value as written in the CSV files: numbers exactly, strings as they are, others as TOML."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number(value)
    return value if isinstance(value, str) else toml_value(value)


def columns(trace: dict) -> list[str]:
    """The record columns in file order: step, the Info fields, then every other field sorted (generic:
    a new Info field or observable becomes a column without an edit here)."""
    known = [c for c in ("step", *Info._fields) if c in trace]
    return known + sorted(set(trace) - set(known))


class MetricsWriter:
    """Appends rows to a metrics.csv, one flush per chunk, so an interrupted run keeps them.

    A row is ``*prefix_columns`` (a sweep's ``point`` and swept keys), ``arm``, ``seed``, the record.
    """

    def __init__(self, path: Path, prefix_columns: tuple[str, ...] = ()):
        self.path, self.prefix_columns = Path(path), tuple(prefix_columns)
        self.file = open(self.path, "a", newline="")  # noqa: SIM115 (closed by close())
        self.writer = csv.writer(self.file)
        self.empty = self.path.stat().st_size == 0

    def write(self, arm: str, seeds, trace: dict, upto: int | None = None, *, prefix=(), first: int = 0) -> list:
        """Rows of a trace ``{column: [B, R]}``: batch entries ``first + s`` for the seeds, records ``[:upto]``.

        Returns the rows written as ``{column: value}`` (numbers as Python numbers), for live trackers."""
        names = columns(trace)
        header = [*self.prefix_columns, "arm", "seed", *names]
        if self.empty:
            self.writer.writerow(header)
            self.empty = False
        rows = []
        for s, seed in enumerate(seeds):
            for r in range(trace["step"].shape[1] if upto is None else upto):
                values = [np.asarray(trace[c][first + s, r]).item() for c in names]
                self.writer.writerow([*prefix, arm, seed, *map(number, values)])
                rows.append(dict(zip(header, [*prefix, arm, int(seed), *values], strict=True)))
        self.file.flush()
        return rows

    def close(self):
        self.file.close()

    def __enter__(self) -> MetricsWriter:
        return self

    def __exit__(self, *exc):
        self.close()


def _read_rows(path: Path) -> list[dict]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    except DAMAGE as e:
        raise unreadable(path, e) from None


def read_metrics(run_dir) -> dict[str, dict[str, np.ndarray]]:
    """metrics.csv as ``{arm: {column: [S, R] array}}`` (rows grouped by seed, in step order)."""
    path = Path(run_dir) / METRICS
    try:
        return _by_arm(_read_rows(path), ())
    except DAMAGE as e:
        raise unreadable(path, e) from None


def read_group_metrics(path: Path, keys) -> dict[int, dict[str, dict[str, np.ndarray]]]:
    """A sweep group's metrics.csv as ``{point: {arm: {column: [S, R]}}}`` (``keys``: the swept columns)."""
    by_point: dict[int, list] = {}
    for row in _read_rows(path):
        by_point.setdefault(int(row["point"]), []).append(row)
    try:
        return {p: _by_arm(rows, ("point", *keys)) for p, rows in by_point.items()}
    except DAMAGE as e:
        raise unreadable(path, e) from None


def _by_arm(rows: list[dict], skip) -> dict[str, dict[str, np.ndarray]]:
    out: dict[str, dict] = {}
    for arm in dict.fromkeys(row["arm"] for row in rows):
        mine = [row for row in rows if row["arm"] == arm]
        seeds = list(dict.fromkeys(int(row["seed"]) for row in mine))
        by_seed = [sorted((r for r in mine if int(r["seed"]) == s), key=lambda r: int(r["step"])) for s in seeds]
        length = min(len(b) for b in by_seed)
        names = [c for c in mine[0] if c not in ("arm", "seed", *skip)]
        out[arm] = {c: np.array([[float(r[c]) for r in b[:length]] for b in by_seed]) for c in names}
        out[arm]["seed"] = np.array(seeds)
    return out


def truncate_metrics(run_dir, keep: Callable[[str, int], bool]):
    """Keep the rows ``keep(arm, step)`` allows: drop those written after the last checkpoint.

    A run killed while writing may leave a cut last line; it comes after the
    checkpoint, so it goes too.
    """
    path = Path(run_dir) / METRICS
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        if not rows:
            return
        header = rows[0]
        arm, step = header.index("arm"), header.index("step")
    except DAMAGE as e:
        raise unreadable(path, e) from None

    def whole(row):
        return len(row) == len(header) and row[step].isdigit()

    kept = [header] + [row for row in rows[1:] if whole(row) and keep(row[arm], int(row[step]))]
    text = io.StringIO(newline="")
    csv.writer(text).writerows(kept)
    atomic_write(path, lambda f: f.write(text.getvalue().encode()))


def write_snapshot(run_dir, arm: str, step: int, seeds, state):
    """Particles and log-weights of every seed of a batched state at ``step``."""
    leaves = jax.tree_util.tree_flatten_with_path(state.particles)[0]
    arrays = {f"particles/{jax.tree_util.keystr(p, simple=True, separator='/')}": np.asarray(v) for p, v in leaves}
    arrays.update(step=np.asarray(step), seeds=np.asarray(seeds), log_weights=np.asarray(state.log_weights))
    atomic_write(Path(run_dir) / SNAPSHOTS / f"{arm}-{step:08d}.npz", lambda f: np.savez(f, **arrays))


def read_snapshots(run_dir, arm: str) -> list[dict]:
    """The snapshots of an arm in step order: dicts with ``step``, ``seeds``, ``log_weights`` and ``particles``.

    A file is ``ARM-STEP.npz`` with STEP all digits, so arm ``gd`` does not read
    ``gd-b-00000040.npz`` (arm names have no '.', and '-' only before the step).
    """
    pattern = re.compile(re.escape(arm) + r"-(\d+)\.npz")
    found = [(int(m[1]), p) for p in (Path(run_dir) / SNAPSHOTS).glob("*.npz") if (m := pattern.fullmatch(p.name))]
    out = []
    for _, path in sorted(found):
        try:
            with np.load(path) as z:
                particles = {k.split("/", 1)[1]: z[k] for k in z.files if k.startswith("particles/")}
                snapshot = {"step": int(z["step"]), "seeds": z["seeds"], "log_weights": z["log_weights"]}
        except DAMAGE as e:
            raise unreadable(path, e) from None
        out.append({**snapshot, "particles": particles})
    return out
