"""JAX's persistent compilation cache under a user cache directory: a program compiled once is
read back from disk by every later process (a second ``mfbd run``, a ``--resume``, a re-plot).

JAX keys an entry by the program, the backend, the device and the JAX/XLA
versions, so a stale entry is never reused; an entry stores compiled code, so
the directory must belong to the user alone (it is created with mode 0700).

Environment:

* ``MFBD_NO_COMPILATION_CACHE=1`` turns it off (any value but ``""`` and ``"0"``);
* ``MFBD_CACHE_DIR`` sets the directory; the default is
  ``$XDG_CACHE_HOME/mfbd/jax`` or ``~/.cache/mfbd/jax``.

A directory the user has already given JAX (``JAX_COMPILATION_CACHE_DIR`` or
``jax.config.update("jax_compilation_cache_dir", ...)``) is kept.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax
from jax.experimental.compilation_cache import compilation_cache

__all__ = ["DISABLE_ENV", "DIR_ENV", "default_cache_dir", "enable_compilation_cache"]

DISABLE_ENV = "MFBD_NO_COMPILATION_CACHE"
DIR_ENV = "MFBD_CACHE_DIR"


def default_cache_dir() -> Path:
    """``$MFBD_CACHE_DIR``, else ``$XDG_CACHE_HOME/mfbd/jax``, else ``~/.cache/mfbd/jax``."""
    if os.environ.get(DIR_ENV):
        return Path(os.environ[DIR_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "mfbd" / "jax"


def enable_compilation_cache(path: str | os.PathLike | None = None, *, min_compile_seconds: float = 0.0) -> Path | None:
    """Turn on JAX's persistent compilation cache; returns its directory, or None when it is off.

    Args:
      path: the directory (default :func:`default_cache_dir`, or the one JAX already has).
      min_compile_seconds: programs that compile faster are not written (JAX's
        default is 1 s; mfbd's chunk programs often take less, so 0 keeps them all).

    Call it before the first compilation. ``MFBD_NO_COMPILATION_CACHE`` wins over ``path``.
    """
    if os.environ.get(DISABLE_ENV, "") not in ("", "0"):
        return None
    current = jax.config.jax_compilation_cache_dir
    if path is None and current:
        folder = Path(current)
    else:
        folder = Path(path).expanduser() if path is not None else default_cache_dir()
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", float(min_compile_seconds))
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    if str(folder) != str(current):
        # A compile before this call may have found the cache off and remembered it (JAX checks once).
        compilation_cache.reset_cache()
    return folder
