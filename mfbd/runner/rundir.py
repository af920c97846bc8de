"""The run-directory format, both layouts: every file of a run or a sweep is written and read here.

A *run* directory holds

* ``config.toml``: the fully resolved config (``mfbd run RUN_DIR/config.toml`` re-runs it);
* ``metadata.json``: versions, backend and devices, seeds, times, sessions and,
  per arm, its status, step, wall time (and ``failed_at``/``message`` if it failed);
* ``metrics.csv``: one row per arm × seed × recorded step (step 0 included);
* ``snapshots/ARM-STEP.npz``: the particles of every seed at step 0 and at each checkpoint;
* ``checkpoint.npz``: per arm the batched :class:`mfbd.State`, its step and status (:mod:`mfbd.runner.checkpoint`);
* ``energy.png|pdf`` and ``particles.png|pdf``: the figures (:mod:`mfbd.plotting`).

A *sweep* directory holds ``config.toml`` (with its ``[sweep]`` table), ``metadata.json``
(sessions, groups, the fingerprint), the index ``sweep.csv`` (one row per point:
``point``, ``group``, the swept values; written with the csv module, so any value
round-trips) and per group ``group-000/`` ... with a ``metrics.csv`` whose rows start
with ``point`` and the swept values, a ``checkpoint.npz`` and ``snapshots/`` (the
batch axis is variant-major: entry v·S + s is seed s of the arm's v-th value).

Files that a run replaces (checkpoint, snapshots, metadata, a truncated
metrics file, the index) are written atomically: to a temporary file, then renamed.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
import platform
import shutil
import subprocess
import tomllib
from pathlib import Path

import jax
import numpy as np

from mfbd._version import __version__
from mfbd.config.schema import Config
from mfbd.config.toml import ConfigError
from mfbd.runner._io import (
    CHECKPOINT,
    CONFIG,
    DAMAGE,
    INDEX,
    METADATA,
    METRICS,
    SNAPSHOTS,
    atomic_write,
    unreadable,
    write_json,
)
from mfbd.runner.checkpoint import Checkpoint
from mfbd.runner.records import (
    MetricsWriter,
    cell,
    read_group_metrics,
    read_metrics,
    read_snapshots,
    truncate_metrics,
    write_snapshot,
)

__all__ = [
    "CONFIG",
    "METADATA",
    "METRICS",
    "CHECKPOINT",
    "SNAPSHOTS",
    "INDEX",
    "atomic_write",
    "write_json",
    "read_metadata",
    "read_status",
    "MetricsWriter",
    "read_metrics",
    "truncate_metrics",
    "write_snapshot",
    "read_snapshots",
    "versions",
    "now",
    "config_text",
    "new_run_dir",
    "require",
    "layout",
    "metadata_name",
    "share_run_dir",
    "unfinished",
    "group_dir",
    "cell",
    "write_index",
    "read_index",
    "read_points",
]


# --- metadata -----------------------------------------------------------------------------------------------------


def metadata_name(part: tuple[int, int] | None = None) -> str:
    """The metadata file of a session: ``metadata.json``, or ``part-I-of-K.json`` for part I of K of a sweep."""
    return METADATA if part is None else f"part-{part[0]}-of-{part[1]}.json"


def read_metadata(run_dir, name: str = METADATA) -> dict:
    """metadata.json of a run, or another metadata file ``name`` (an empty dict if there is none)."""
    path = Path(run_dir) / name
    if not path.is_file():
        return {}
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except DAMAGE as e:
        raise unreadable(path, e) from None
    if not isinstance(metadata, dict) or not isinstance(metadata.get("arms", {}), dict):
        raise ConfigError(f"cannot read {path}: not an mfbd metadata object; the file is damaged")
    return metadata


def read_status(run_dir) -> dict[str, dict]:
    """Per arm its status entry of metadata.json: ``status``, ``step``, ``wall_s`` (``failed_at`` if failed)."""
    return read_metadata(run_dir).get("arms", {})


def _git_commit() -> str | None:
    here = Path(__file__).parent
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
        "mfbd": __version__,
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "git_commit": _git_commit(),
    }


# --- the sweep index ----------------------------------------------------------------------------------------------


def group_dir(run_dir, g: int) -> Path:
    return Path(run_dir) / f"group-{g:03d}"


def write_index(run_dir, sweep, groups: list[list[int]]):
    """``sweep.csv``: ``point``, ``group`` and the swept values of every point (CSV-quoted)."""
    text = io.StringIO(newline="")
    _index_rows(csv.writer(text), sweep, groups)
    atomic_write(Path(run_dir) / INDEX, lambda f: f.write(text.getvalue().encode()))


def _index_rows(writer, sweep, groups):
    writer.writerow(["point", "group", *sweep.keys])
    for g, members in enumerate(groups):
        writer.writerows([p, g, *(cell(x) for x in sweep.points[p])] for p in members)


def read_index(run_dir) -> tuple[list[str], list[dict]]:
    """The swept keys and the rows of ``sweep.csv`` (``point``, ``group`` as ints, the values as text)."""
    path = Path(run_dir) / INDEX
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
            header = reader.fieldnames or []
        if header[:2] != ["point", "group"]:
            raise ValueError("its header is not point,group,<swept keys>")
        rows = [{**r, "point": int(r["point"]), "group": int(r["group"])} for r in rows]
    except DAMAGE as e:
        raise unreadable(path, e) from None
    if not rows:
        raise ConfigError(f"cannot read {path}: it lists no points (only its header); the file is damaged")
    return header[2:], rows


def read_points(run_dir) -> list[dict]:
    """Every point of a sweep run: ``{"point", "group", "values": {key: text}, "metrics": {arm: {col: [S, R]}}}``.

    ``metrics`` is as :func:`read_metrics` gives it for a run; an arm that stopped
    on a non-finite value has its records up to the stop; a group not run yet has none.
    """
    keys, index = read_index(run_dir)
    metrics: dict[int, dict] = {}
    for g in sorted({r["group"] for r in index}):
        path = group_dir(run_dir, g) / METRICS
        if path.is_file():
            metrics.update(read_group_metrics(path, keys))
    out = []
    for r in index:
        values = {k: r[k] for k in keys}
        out.append({"point": r["point"], "group": r["group"], "values": values, "metrics": metrics.get(r["point"], {})})
    return out


def unfinished(run_dir) -> list[str]:
    """The groups of a sweep directory whose arms have not all completed or failed (``group-NNN``)."""
    _, index = read_index(run_dir)
    out = []
    for g in sorted({r["group"] for r in index}):
        path = group_dir(run_dir, g) / CHECKPOINT
        status = {}
        if path.is_file():
            status = Checkpoint.load(path.parent).status
        if not status or any(s["status"] not in ("complete", "failed") for s in status.values()):
            out.append(path.parent.name)
    return out


def share_run_dir(spec, out: str | None, groups: list[list[int]]) -> Path:
    """The directory every part of a sweep shares (``--part``): created by the first part to come, joined by
    the others. Its config.toml and sweep.csv are each created once (an atomic link: the first part wins)
    and must be the same for every part; each part writes only its own groups and its metadata file.

    Raises:
      ConfigError: no ``out``, or ``out`` holds another sweep or files of a plain run.
    """
    if out is None:
        raise ConfigError("--part needs --out DIR: the directory every part of the sweep shares")
    path = Path(out)
    text = io.StringIO(newline="")
    _index_rows(csv.writer(text), spec, groups)
    try:
        path.mkdir(parents=True, exist_ok=True)
        for name, content in ((CONFIG, config_text(spec)), (INDEX, text.getvalue())):
            tmp = path / f"{name}.tmp-{os.getpid()}"
            tmp.write_bytes(content.encode("utf-8"))
            try:
                os.link(tmp, path / name)
            except FileExistsError:
                if (path / name).read_bytes() != content.encode("utf-8"):
                    raise ConfigError(f"{path} holds another sweep (its {name} differs); choose a new --out") from None
            finally:
                tmp.unlink()
    except OSError as e:
        raise ConfigError(f"cannot write the output directory {path}: {e.strerror or e}") from None
    if (path / METRICS).exists():
        raise ConfigError(f"{path} holds a plain run; choose a new --out")
    return path


def layout(run_dir) -> str:
    """``"sweep"`` or ``"run"``: which layout ``run_dir`` has (by its files).

    Raises:
      ConfigError: ``run_dir`` is not a folder with a config.toml and a metrics.csv or sweep.csv.
    """
    run_dir = Path(run_dir)
    if (run_dir / CONFIG).is_file() and (run_dir / INDEX).is_file():
        return "sweep"
    if (run_dir / CONFIG).is_file() and (run_dir / METRICS).is_file():
        return "run"
    raise ConfigError(f"{run_dir} is not an mfbd run directory (needs {CONFIG} and {METRICS} or {INDEX})")


# --- creating and checking run directories ------------------------------------------------------------------------


def config_text(spec) -> str:
    """:func:`~mfbd.config.dumps` of ``spec``, checked to re-read to the same config, with file names apart.

    Raises:
      ConfigError: two arm names differ only in case (their files would collide
        on a case-insensitive file system), or the text does not read back.
    """
    base = spec if isinstance(spec, Config) else spec.base
    seen: dict[str, str] = {}
    for name, _ in base.arms:
        if name.lower() in seen:
            raise ConfigError(
                f"arms {seen[name.lower()]!r} and {name!r} differ only in case: their files would collide; rename one"
            )
        seen[name.lower()] = name
    text = spec.dumps()
    try:
        text.encode("utf-8")
        back = type(spec).loads(text, base.name)
    except (UnicodeError, tomllib.TOMLDecodeError, ConfigError) as e:
        reason = " ".join(str(e).split())
        raise ConfigError(f"the config cannot be written as a config.toml that reads back ({reason})") from None
    again = back.dumps()  # equal texts: equal resolved configs (every field is written)
    if again != text:
        line = next(a for a, b in zip(text.splitlines(), again.splitlines(), strict=False) if a != b)
        raise ConfigError(f"the written config.toml would not read back to the same config (at {line!r})")
    return text


def new_run_dir(spec, out: str | None) -> Path:
    """Create the run directory with its config.toml (a run: also an empty metrics.csv and snapshots/).

    ``out`` must be new (or an empty folder): a run is never overwritten. The
    default is ``runs/<name>-<timestamp>``.

    Raises:
      ConfigError: ``out`` exists and is not empty, or cannot be written.
    """
    text = config_text(spec)
    if out is None:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        path = Path("runs") / f"{spec.name}-{stamp}"
        suffix = 1
        while path.exists():
            suffix += 1
            path = Path("runs") / f"{spec.name}-{stamp}-{suffix}"
    else:
        path = Path(out)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise ConfigError(f"output directory {path} already exists and is not empty; choose a new --out")
    top = path  # the highest folder this call creates: removed again if writing fails
    while not top.parent.exists() and top.parent != top:
        top = top.parent
    created = not top.exists()
    plain = isinstance(spec, Config)
    try:
        path.mkdir(parents=True, exist_ok=True)
        (path / CONFIG).write_text(text, encoding="utf-8")
        if plain:
            (path / SNAPSHOTS).mkdir()
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
