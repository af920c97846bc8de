"""The run-directory format: every file of a run is written and read here.

A run directory holds

* ``config.toml``: the fully resolved config (``mfbd run RUN_DIR/config.toml`` re-runs it);
* ``metadata.json``: versions, backend and devices, seeds, times, sessions and,
  per arm, its status, step, wall time (and ``failed_at``/``message`` if it failed);
* ``metrics.csv``: one row per arm × seed × recorded step (step 0 included);
* ``snapshots/ARM-STEP.npz``: the particles of every seed at step 0 and at each checkpoint;
* ``checkpoint.npz``: per arm the batched :class:`mfbd.State`, its step and status;
* ``energy.png|pdf`` and ``particles.png|pdf``: the figures (:mod:`mfbd.plotting`).

Files that a run replaces (checkpoint, snapshots, metadata, a truncated
metrics file) are written atomically: to a temporary file, then renamed.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import json
import os
import platform
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import jax
import numpy as np

import mfbd
from mfbd._fingerprint import config_text
from mfbd.config import Config, ConfigError
from mfbd.schemes.base import Info

__all__ = [
    "CONFIG",
    "METADATA",
    "METRICS",
    "CHECKPOINT",
    "SNAPSHOTS",
    "atomic_write",
    "write_json",
    "read_metadata",
    "read_status",
    "MetricsWriter",
    "read_metrics",
    "truncate_metrics",
    "write_snapshot",
    "read_snapshots",
    "Checkpoint",
    "versions",
    "now",
    "new_run_dir",
    "require",
]

CONFIG, METADATA, METRICS, CHECKPOINT, SNAPSHOTS = (
    "config.toml",
    "metadata.json",
    "metrics.csv",
    "checkpoint.npz",
    "snapshots",
)


#: What a damaged or unreadable run file raises; :func:`_unreadable` turns it into one ConfigError line.
_DAMAGE = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, UnicodeDecodeError, csv.Error)


def _unreadable(path, e: Exception) -> ConfigError:
    reason = " ".join(str(e).split()) or type(e).__name__
    if isinstance(e, FileNotFoundError):
        reason = "no such file"
    elif isinstance(e, UnicodeDecodeError):
        reason = "not UTF-8 text"
    return ConfigError(f"cannot read {path}: {reason}; the file is missing or damaged")


# --- atomic writes and metadata -----------------------------------------------------------------------------------


def atomic_write(path: Path, write: Callable):
    """Call ``write(file)`` on a temporary file in the same folder, then rename it over ``path``."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json(path: Path, obj):
    """``obj`` as indented JSON, atomically."""
    atomic_write(path, lambda f: f.write((json.dumps(obj, indent=2) + "\n").encode()))


def read_metadata(run_dir) -> dict:
    """metadata.json of a run (an empty dict if there is none)."""
    path = Path(run_dir) / METADATA
    if not path.is_file():
        return {}
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except _DAMAGE as e:
        raise _unreadable(path, e) from None
    if not isinstance(metadata, dict) or not isinstance(metadata.get("arms", {}), dict):
        raise ConfigError(f"cannot read {path}: not an mfbd metadata object; the file is damaged")
    return metadata


def read_status(run_dir) -> dict[str, dict]:
    """Per arm its status entry of metadata.json: ``status``, ``step``, ``wall_s`` (``failed_at`` if failed)."""
    return read_metadata(run_dir).get("arms", {})


def _git_commit() -> str | None:
    here = Path(mfbd.__file__).parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if commit.returncode:
        return None
    return commit.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def now() -> str:
    """The local time, ISO 8601 to the second."""
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def versions() -> dict:
    """Package versions, backend, devices and the git commit, for metadata.json."""
    import jaxlib

    return {
        "mfbd": mfbd.__version__,
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "git_commit": _git_commit(),
    }


# --- metrics.csv --------------------------------------------------------------------------------------------------


def _format(value) -> str:
    """Exact text for a number: ints as ints, floats by their shortest round-trip repr."""
    return str(int(value)) if np.issubdtype(np.asarray(value).dtype, np.integer) else repr(float(value))


def _columns(trace: dict) -> list[str]:
    """The record columns in file order: step, the Info fields, then the observables sorted."""
    known = [c for c in ("step", *Info._fields) if c in trace]
    return known + sorted(set(trace) - set(known))


class MetricsWriter:
    """Appends rows to metrics.csv, one flush per chunk, so an interrupted run keeps them."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.file = open(self.path, "a", newline="")  # noqa: SIM115 (closed by close())
        self.writer = csv.writer(self.file)
        self.empty = self.path.stat().st_size == 0

    def write(self, arm: str, seeds, trace: dict, upto: int | None = None):
        """Rows of a trace ``{column: [S, R]}``, seed by seed, records ``[:upto]``."""
        columns = _columns(trace)
        if self.empty:
            self.writer.writerow(["arm", "seed", *columns])
            self.empty = False
        for s, seed in enumerate(seeds):
            for r in range(trace["step"].shape[1] if upto is None else upto):
                self.writer.writerow([arm, seed, *(_format(trace[c][s, r]) for c in columns)])
        self.file.flush()

    def close(self):
        self.file.close()

    def __enter__(self) -> MetricsWriter:
        return self

    def __exit__(self, *exc):
        self.close()


def read_metrics(run_dir) -> dict[str, dict[str, np.ndarray]]:
    """metrics.csv as ``{arm: {column: [S, R] array}}`` (rows grouped by seed, in step order)."""
    path = Path(run_dir) / METRICS
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        return _by_arm(rows)
    except _DAMAGE as e:
        raise _unreadable(path, e) from None


def _by_arm(rows: list[dict]) -> dict[str, dict[str, np.ndarray]]:
    out: dict[str, dict] = {}
    for arm in dict.fromkeys(row["arm"] for row in rows):
        mine = [row for row in rows if row["arm"] == arm]
        seeds = list(dict.fromkeys(int(row["seed"]) for row in mine))
        by_seed = [sorted((r for r in mine if int(r["seed"]) == s), key=lambda r: int(r["step"])) for s in seeds]
        length = min(len(b) for b in by_seed)
        columns = [c for c in mine[0] if c not in ("arm", "seed")]
        out[arm] = {c: np.array([[float(r[c]) for r in b[:length]] for b in by_seed]) for c in columns}
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
    except _DAMAGE as e:
        raise _unreadable(path, e) from None

    def whole(row):
        return len(row) == len(header) and row[step].isdigit()

    kept = [header] + [row for row in rows[1:] if whole(row) and keep(row[arm], int(row[step]))]
    text = io.StringIO(newline="")
    csv.writer(text).writerows(kept)
    atomic_write(path, lambda f: f.write(text.getvalue().encode()))


# --- snapshots and the checkpoint ---------------------------------------------------------------------------------


def _host(tree) -> list[np.ndarray]:
    return [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(tree)]


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
        except _DAMAGE as e:
            raise _unreadable(path, e) from None
        out.append({**snapshot, "particles": particles})
    return out


@dataclasses.dataclass
class Checkpoint:
    """What checkpoint.npz holds: per arm its status, step and the host copy of its batched state.

    ``fingerprint`` (:func:`fingerprint`) names the format, the mfbd version and the
    resolved config that wrote it; a checkpoint of an older format has none.
    """

    status: dict[str, dict]
    states: dict[str, list[np.ndarray]]
    key_data: np.ndarray
    fingerprint: dict | None = None

    def put(self, arm: str, state, status: dict):
        """Record an arm's state (copied to the host) and status."""
        self.states[arm] = _host(state)
        self.status[arm] = status

    def save(self, run_dir):
        arrays = {"progress": np.asarray(json.dumps(self.status)), "keys": self.key_data}
        if self.fingerprint is not None:
            arrays["fingerprint"] = np.asarray(json.dumps(self.fingerprint))
        for arm, leaves in self.states.items():
            arrays.update({f"{arm}/{i}": leaf for i, leaf in enumerate(leaves)})
        atomic_write(Path(run_dir) / CHECKPOINT, lambda f: np.savez(f, **arrays))

    @classmethod
    def load(cls, run_dir) -> Checkpoint:
        """Read checkpoint.npz; a damaged file raises one ConfigError line."""
        path = Path(run_dir) / CHECKPOINT
        try:
            with np.load(path) as z:
                status = json.loads(str(z["progress"]))
                stored = json.loads(str(z["fingerprint"])) if "fingerprint" in z.files else None
                states = {
                    arm: [z[f"{arm}/{i}"] for i in range(sum(k.startswith(f"{arm}/") for k in z.files))]
                    for arm in status
                }
                checkpoint = cls(status, {a: s for a, s in states.items() if s}, z["keys"], stored)
        except (*_DAMAGE, TypeError) as e:
            raise _unreadable(path, e) from None
        entries = list(status.values()) if isinstance(status, dict) else [None]
        known = ("pending", "running", "complete", "failed")
        whole = [isinstance(e, dict) and isinstance(e.get("step"), int) and e.get("status") in known for e in entries]
        if not all(whole):
            raise ConfigError(f"cannot read {path}: its progress record is not mfbd's; the file is damaged")
        return checkpoint


# --- creating and checking run directories ------------------------------------------------------------------------


def new_run_dir(config: Config, out: str | None) -> Path:
    """Create the run directory with its config.toml and an empty metrics.csv.

    ``out`` must be new (or an empty folder): a run is never overwritten. The
    default is ``runs/<name>-<timestamp>``.

    Raises:
      ConfigError: ``out`` exists and is not empty, or cannot be written.
    """
    text = config_text(config)
    if out is None:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        path = Path("runs") / f"{config.name}-{stamp}"
        suffix = 1
        while path.exists():
            suffix += 1
            path = Path("runs") / f"{config.name}-{stamp}-{suffix}"
    else:
        path = Path(out)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise ConfigError(f"output directory {path} already exists and is not empty; choose a new --out")
    top = path  # the highest folder this call creates: removed again if writing fails
    while not top.parent.exists() and top.parent != top:
        top = top.parent
    created = not top.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
        (path / SNAPSHOTS).mkdir()
        (path / CONFIG).write_text(text, encoding="utf-8")
        (path / METRICS).touch()
    except OSError as e:
        if created and top.exists():
            shutil.rmtree(top, ignore_errors=True)
        elif not created:  # an empty --out folder: take back what was written into it
            for p in (path / CONFIG, path / METRICS):
                p.unlink(missing_ok=True)
            shutil.rmtree(path / SNAPSHOTS, ignore_errors=True)
        raise ConfigError(f"cannot write the output directory {path}: {e.strerror or e}") from None
    return path


def require(run_dir, files: tuple[str, ...], what: str) -> Path:
    """``run_dir`` as a Path, if it is a folder holding ``files``; ``what`` starts the error message."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError(f"{what}: no such directory")
    missing = [f for f in files if not (run_dir / f).is_file()]
    if missing:
        raise ConfigError(f"{what}: not an mfbd run directory (no {', '.join(missing)})")
    return run_dir
