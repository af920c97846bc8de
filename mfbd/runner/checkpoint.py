"""``checkpoint.npz``: per arm its status, step and batched state, with the *fingerprint* of what wrote it.

The fingerprint holds the checkpoint format, the mfbd version and the resolved config
(:func:`mfbd.config.dumps`, with its ``[sweep]`` table for a sweep). A resume refuses a
checkpoint of another format or version, or a config.toml edited since (saying which
keys changed from what to what, :func:`check`); only the description and the arms'
labels may change.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from pathlib import Path

import jax
import numpy as np

from mfbd._version import __version__
from mfbd.config.toml import ConfigError, flatten
from mfbd.runner._io import CHECKPOINT, DAMAGE, atomic_write, unreadable

__all__ = ["CHECKPOINT", "FORMAT", "Checkpoint", "fingerprint", "check"]

#: The checkpoint format: 2 holds the State's lineages and a fingerprint (1: neither).
FORMAT = 2
#: Config keys that change no number of a run: a resume may follow an edit of these.
_COSMETIC = re.compile(r"description|arms\.[^.]+\.label")


def fingerprint(spec) -> dict:
    """Format, mfbd version and the resolved config (TOML text, ``spec.dumps()``) of a run or sweep."""
    return {"format": FORMAT, "mfbd": __version__, "config": spec.dumps()}


def check(stored: dict | None, spec, steps_done: int, run_dir: Path, writer: str | None, what=CHECKPOINT) -> None:
    """Refuse to resume a checkpoint of another format, mfbd version or config.

    Args:
      stored: the fingerprint written with the run (None: an older format without one).
      spec: the config (or sweep) read from the run's config.toml now.
      steps_done: the furthest step of the checkpoint's arms.
      run_dir: the run directory (for the messages).
      writer: the mfbd version metadata.json names, for a checkpoint without a fingerprint.
      what: the file that holds ``stored`` (for the messages).

    Raises:
      ConfigError: one line saying what differs and what to do.
    """
    again = f"start a new run with `mfbd run {run_dir / 'config.toml'}`"
    if stored is None or stored.get("format") != FORMAT or stored.get("mfbd") != __version__:
        written = (stored or {}).get("mfbd") or writer or "an older version"
        raise ConfigError(
            f"{run_dir / what} was written by mfbd {written} (checkpoint format "
            f"{(stored or {}).get('format', 1)}); mfbd {__version__} cannot resume it; {again}"
        )
    leaf = lambda key: key == "alpha"  # noqa: E731 (an alpha schedule table is one value)
    before, now = (flatten(tomllib.loads(text), leaf=leaf) for text in (stored["config"], spec.dumps()))
    changes = []
    for key in dict.fromkeys([*before, *now]):
        if _COSMETIC.fullmatch(key) or before.get(key) == now.get(key):
            continue
        old, new = (repr(d[key]) if key in d else "nothing" for d in (before, now))
        changes.append(f"{key} changed from {old} to {new}")
    if changes:
        steps = getattr(spec, "run", None) and spec.run.steps
        below = f" (below the checkpointed step {steps_done})" if steps is not None and steps < steps_done else ""
        raise ConfigError(
            f"{run_dir / 'config.toml'} was edited: {'; '.join(changes)}{below} since the checkpoint; "
            f"undo the edit to resume, or {again}"
        )


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
    costs: dict[str, dict] = dataclasses.field(default_factory=dict)  # per arm: the cost columns' running values

    def put(self, arm: str, state, status: dict):
        """Record an arm's state (copied to the host) and status."""
        self.states[arm] = [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(state)]
        self.status[arm] = status

    def save(self, run_dir):
        arrays = {"progress": np.asarray(json.dumps(self.status)), "keys": self.key_data}
        if self.costs:
            arrays["costs"] = np.asarray(json.dumps(self.costs))
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
                checkpoint.costs = json.loads(str(z["costs"])) if "costs" in z.files else {}
        except (*DAMAGE, TypeError) as e:
            raise unreadable(path, e) from None
        entries = list(status.values()) if isinstance(status, dict) else [None]
        known = ("pending", "running", "complete", "failed")
        whole = [isinstance(e, dict) and isinstance(e.get("step"), int) and e.get("status") in known for e in entries]
        if not all(whole):
            raise ConfigError(f"cannot read {path}: its progress record is not mfbd's; the file is damaged")
        return checkpoint
