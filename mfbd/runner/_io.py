"""The run directory's file names, atomic writes and the one-line error of a damaged file (shared by
:mod:`mfbd.runner.rundir`'s parts)."""

from __future__ import annotations

import csv
import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mfbd.config.toml import ConfigError

__all__ = ["DAMAGE", "unreadable", "atomic_write", "write_json", "number"]
__all__ += ["CONFIG", "METADATA", "METRICS", "SNAPSHOTS", "CHECKPOINT", "INDEX"]

#: The files of a run directory (:mod:`mfbd.runner.rundir`).
CONFIG, METADATA, METRICS, SNAPSHOTS = "config.toml", "metadata.json", "metrics.csv", "snapshots"
CHECKPOINT, INDEX = "checkpoint.npz", "sweep.csv"

#: What a damaged or unreadable run file raises; :func:`unreadable` turns it into one ConfigError line.
DAMAGE = (OSError, ValueError, KeyError, EOFError, IndexError, zipfile.BadZipFile, UnicodeDecodeError, csv.Error)


def unreadable(path, e: Exception) -> ConfigError:
    reason = " ".join(str(e).split()) or type(e).__name__
    if isinstance(e, FileNotFoundError):
        reason = "no such file"
    elif isinstance(e, UnicodeDecodeError):
        reason = "not UTF-8 text"
    return ConfigError(f"cannot read {path}: {reason}; the file is missing or damaged")


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


def number(value) -> str:
    """Exact text for a number: ints as ints, floats by their shortest round-trip repr."""
    return str(int(value)) if np.issubdtype(np.asarray(value).dtype, np.integer) else repr(float(value))
