"""What a run directory's checkpoint records of what wrote it, and the config.toml that must read back.

A checkpoint holds a *fingerprint*: the checkpoint format, the mfbd version and
the resolved config (:func:`mfbd.config.dumps`). A resume refuses a checkpoint
of another format or version, or a config.toml edited since (saying which keys
changed from what to what); only the description and the arms' labels may change.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import mfbd
from mfbd.config import Config, ConfigError, dumps, parse

__all__ = ["FORMAT", "fingerprint", "check", "config_text"]

#: The checkpoint format: 2 holds the State's lineages and a fingerprint (1: neither).
FORMAT = 2
#: Config keys that change no number of a run: a resume may follow an edit of these.
_COSMETIC = re.compile(r"description|arms\.[^.]+\.label")


def fingerprint(config: Config) -> dict:
    """Format, mfbd version and the resolved config (TOML text) of a run."""
    return {"format": FORMAT, "mfbd": mfbd.__version__, "config": dumps(config)}


def _flat(table: dict, prefix: str = "") -> dict:
    """A TOML document as ``{dotted key: value}`` (an alpha schedule table stays one value)."""
    out = {}
    for key, value in table.items():
        if isinstance(value, dict) and key != "alpha":
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def check(stored: dict | None, config: Config, steps_done: int, run_dir: Path, writer: str | None) -> None:
    """Refuse to resume a checkpoint of another format, mfbd version or config.

    Args:
      stored: the checkpoint's fingerprint (None: an older format without one).
      config: the config read from the run's config.toml now.
      steps_done: the furthest step of the checkpoint's arms.
      run_dir: the run directory (for the messages).
      writer: the mfbd version metadata.json names, for a checkpoint without a fingerprint.

    Raises:
      ConfigError: one line saying what differs and what to do.
    """
    again = f"start a new run with `mfbd run {run_dir / 'config.toml'}`"
    if stored is None or stored.get("format") != FORMAT or stored.get("mfbd") != mfbd.__version__:
        written = (stored or {}).get("mfbd") or writer or "an older version"
        raise ConfigError(
            f"{run_dir / 'checkpoint.npz'} was written by mfbd {written} (checkpoint format "
            f"{(stored or {}).get('format', 1)}); mfbd {mfbd.__version__} cannot resume it; {again}"
        )
    before, now = _flat(tomllib.loads(stored["config"])), _flat(tomllib.loads(dumps(config)))
    changes = []
    for key in dict.fromkeys([*before, *now]):
        if _COSMETIC.fullmatch(key) or before.get(key) == now.get(key):
            continue
        old, new = (repr(d[key]) if key in d else "nothing" for d in (before, now))
        changes.append(f"{key} changed from {old} to {new}")
    if changes:
        below = f" (below the checkpointed step {steps_done})" if config.run.steps < steps_done else ""
        raise ConfigError(
            f"{run_dir / 'config.toml'} was edited: {'; '.join(changes)}{below} since the checkpoint; "
            f"undo the edit to resume, or {again}"
        )


def config_text(config: Config) -> str:
    """:func:`~mfbd.config.dumps` of ``config``, checked to re-read to the same Config, with file names apart.

    Raises:
      ConfigError: two arm names differ only in case (their files would collide
        on a case-insensitive file system), or the text does not read back.
    """
    seen: dict[str, str] = {}
    for name, _ in config.arms:
        if name.lower() in seen:
            raise ConfigError(
                f"arms {seen[name.lower()]!r} and {name!r} differ only in case: their files would collide; rename one"
            )
        seen[name.lower()] = name
    text = dumps(config)
    try:
        text.encode("utf-8")
        back = parse(tomllib.loads(text), config.name)
    except (UnicodeError, tomllib.TOMLDecodeError, ConfigError) as e:
        reason = " ".join(str(e).split())
        raise ConfigError(f"the config cannot be written as a config.toml that reads back ({reason})") from None
    again = dumps(back)  # equal texts: equal resolved configs (every field is written)
    if again != text:
        line = next(a for a, b in zip(text.splitlines(), again.splitlines(), strict=False) if a != b)
        raise ConfigError(f"the written config.toml would not read back to the same config (at {line!r})")
    return text
