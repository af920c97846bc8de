"""A warning when a run's energy rises sharply: E at a record above ``RISE`` times E at the record before.

Gradient flow, birth-death and reweighting all decrease E(μ) in the mean-field limit (the paper's
dissipation identities), and with n particles the fluctuations over one record interval are far
below a factor ``RISE``; a rise by more than that is the signature of a step size beyond the
stability limit. Only for a positive energy: sampling mode records a kernel-density estimate of
KL(μ|π) up to log Z, which may be negative and is not monotone early on.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RISE", "first_rise", "Watch"]

#: The factor over one record interval that triggers the warning.
RISE = 10.0


def first_rise(previous: np.ndarray | None, energy: np.ndarray, factor: float = RISE):
    """The first record r (per batch entry) with ``energy[b, r] > factor · energy[b, r - 1]`` and a positive,
    finite ``energy[b, r - 1]`` (``previous[b]`` before the first column); ``(entry, r, ratio)`` or None.

    Args:
      previous: ``[B]`` the record before ``energy``'s first column (None: unknown, e.g. after a resume).
      energy: ``[B, R]`` the chunk's recorded energies; an entry with a non-finite one is skipped (it stops,
        and its failure is reported).
    """
    energy = np.asarray(energy, float)
    energy = np.where(np.isfinite(energy).all(axis=1, keepdims=True), energy, np.nan)  # a failure says it already
    before = np.concatenate([np.full((len(energy), 1), np.nan) if previous is None else previous[:, None], energy], 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where((before[:, :-1] > 0) & np.isfinite(before[:, :-1]), before[:, 1:] / before[:, :-1], np.nan)
    hits = np.argwhere(ratio > factor)
    if not len(hits):
        return None
    b, r = min(hits, key=lambda h: (h[1], h[0]))
    return int(b), int(r), float(ratio[b, r])


class Watch:
    """Per arm, the last energy recorded and whether it was warned of: one warning per arm and session."""

    def __init__(self, enabled: bool, factor: float = RISE):
        self.enabled, self.factor = enabled, factor
        self.last: dict[str, np.ndarray] = {}
        self.warnings: dict[str, str] = {}  # arm: its warning

    def check(self, arm: str, trace: dict, where) -> None:
        """``where(entry)``: the text naming a batch entry's seed (and a sweep's point)."""
        energy, previous = np.asarray(trace["energy"]), self.last.get(arm)
        self.last[arm] = energy[:, -1]
        if not self.enabled or arm in self.warnings:
            return
        hit = first_rise(previous, energy, self.factor)
        if hit is None:
            return
        b, r, ratio = hit
        steps = np.asarray(trace["step"])[b]
        start = f"step {int(steps[r - 1])}" if r else "the previous record"
        self.warnings[arm] = (
            f"warning: arm '{arm}' {where(b)}: the energy rose {ratio:.3g}× from {start} to step {int(steps[r])} "
            f"(more than {self.factor:g}× over one record interval): likely an unstable step size; "
            "try halving dt (or alpha)"
        )
