"""One comparison statistic: paired per-seed time-to-target of an arm against a reference.

Curves are per seed: ``x`` ``[S, R]`` (or ``[R]``, shared) is the x-axis of the
records in one unit — mean-field time, cumulative oracle passes
(``cumsum(trace["oracle_passes"])``) or cumulative wall-clock — and ``energy``
``[S, R]`` the recorded energies. Seed s of the arm and seed s of the reference
start from the same particles (paired).

At a checkpoint c (a value of x, in the same unit), two directions:

* ``"arm_reaches_reference"``: target E_ref(c); ratio T_ref / T_arm, the times
  each curve first reaches the target;
* ``"reference_reaches_arm"``: target E_arm(c); ratio T_ref / T_arm again.

A ratio above 1 means the arm is faster. Times are first crossings with linear
interpolation in log E between records; E at c likewise. A curve that never
reaches its target is *censored*: its time is its last x, a bound, so the ratio
is an upper bound (the arm never reached) or a lower bound (the reference never
did). The summary over seeds is the geometric mean of the per-seed ratios with a
percentile bootstrap interval over seeds (numpy ``Generator(seed)``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["DIRECTIONS", "Comparison", "compare", "energy_at", "failing_seeds", "first_reach"]

DIRECTIONS = ("arm_reaches_reference", "reference_reaches_arm")


class Comparison(NamedTuple):
    """The paired statistic at one checkpoint in one direction.

    Attributes:
      checkpoint: c, in the unit of x.
      direction: one of :data:`DIRECTIONS`.
      ratio: geometric mean over seeds of T_ref/T_arm (> 1: the arm is faster); NaN
        where c lies beyond a curve's last record.
      low, high: the bootstrap interval of ``ratio``.
      bound: None, ``"upper"`` (some seeds of the arm never reached: the ratio is at
        most this) or ``"lower"`` (some seeds of the reference never reached: at least this).
      censored: seeds whose time is a bound.
      per_seed: ``[S]`` ratios.
      seeds: S.
      failed: seeds that fail (:func:`failing_seeds`): non-finite, or ending above the
        reference's energy at the arm's last x (the reference's last record if it ends sooner).
      chosen_from: how many arms this arm was selected from as the winner (1: not selected).
    """

    checkpoint: float
    direction: str
    ratio: float
    low: float
    high: float
    bound: str | None
    censored: int
    per_seed: np.ndarray
    seeds: int
    failed: int
    chosen_from: int


def _per_seed(x, energy):
    energy = np.atleast_2d(np.asarray(energy, float))
    x = np.broadcast_to(np.asarray(x, float), energy.shape)
    return x, energy


def first_reach(x, energy, target) -> tuple[np.ndarray, np.ndarray]:
    """``(T [S], censored [S])``: the first x at which E ≤ target, linear in log E between records.

    A seed that never reaches the target gets T = its last x and censored = True.
    """
    x, energy = _per_seed(x, energy)
    target = np.broadcast_to(np.asarray(target, float), energy.shape[:1])
    times, censored = np.empty(len(energy)), np.zeros(len(energy), bool)
    for s, (xs, es, goal) in enumerate(zip(x, energy, target, strict=True)):
        hit = np.flatnonzero(es <= goal * (1 + 1e-12))  # a target read off a record is reached there
        if not np.isfinite(goal) or not len(hit):
            times[s], censored[s] = xs[-1], True
            continue
        k = hit[0]
        if k == 0 or not (np.isfinite(es[k - 1]) and es[k - 1] > 0 and es[k] > 0):
            times[s] = xs[k]
            continue
        frac = (np.log(goal) - np.log(es[k - 1])) / (np.log(es[k]) - np.log(es[k - 1]))
        times[s] = xs[k - 1] + frac * (xs[k] - xs[k - 1])
    return times, censored


def energy_at(x, energy, c) -> np.ndarray:
    """``[S]`` E at x = c, linear in log E between records (NaN beyond the last record)."""
    x, energy = _per_seed(x, energy)
    out = np.full(len(energy), np.nan)
    for s, (xs, es) in enumerate(zip(x, energy, strict=True)):
        if xs[0] <= c <= xs[-1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                out[s] = np.exp(np.interp(c, xs, np.log(es)))
    return out


def failing_seeds(energy, reference) -> np.ndarray:
    """``[S]`` bool: the arm's curve has a non-finite value, or its last energy is above the reference's."""
    energy, reference = np.atleast_2d(energy), np.atleast_2d(reference)
    return ~np.all(np.isfinite(energy), axis=1) | ~(energy[:, -1] <= reference[:, -1])


def _geometric_mean(ratios, axis=-1):
    return np.exp(np.mean(np.log(ratios), axis=axis))


def compare(
    x_arm,
    energy_arm,
    x_reference,
    energy_reference,
    checkpoints,
    *,
    chosen_from: int = 1,
    bootstrap: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> list[Comparison]:
    """The paired time-to-target statistic at every checkpoint, both directions (module docstring).

    Args:
      x_arm, x_reference: ``[S, R]`` or ``[R]`` x-axes in one unit (time, passes or seconds).
      energy_arm, energy_reference: ``[S, R]`` energies, seed s paired with seed s.
      checkpoints: values of x at which the targets are taken.
      chosen_from: the number of arms the arm was chosen from (reported, not used).
      bootstrap: bootstrap resamplings of the seeds; level: the interval's coverage.
      seed: the numpy Generator seed of the bootstrap.
    """
    x_arm, energy_arm = _per_seed(x_arm, energy_arm)
    x_ref, energy_ref = _per_seed(x_reference, energy_reference)
    if energy_arm.shape[0] != energy_ref.shape[0]:
        raise ValueError(f"paired seeds: the arm has {energy_arm.shape[0]}, the reference {energy_ref.shape[0]}")
    n_seeds = energy_arm.shape[0]
    # "ending above the reference": the arm's last energy against the reference's at the same x
    ref_end = np.array([energy_at(xr, er, xa[-1])[0] for xr, er, xa in zip(x_ref, energy_ref, x_arm, strict=True)])
    ref_end = np.where(np.isnan(ref_end), energy_ref[:, -1], ref_end)
    failed = int(np.sum(failing_seeds(energy_arm, ref_end[:, None])))
    draws = np.random.default_rng(seed).integers(0, n_seeds, (bootstrap, n_seeds))
    rows = []
    for c in np.atleast_1d(checkpoints):
        for direction in DIRECTIONS:
            if direction == "arm_reaches_reference":
                target = energy_at(x_ref, energy_ref, c)
            else:
                target = energy_at(x_arm, energy_arm, c)
            t_ref, cens_ref = first_reach(x_ref, energy_ref, target)
            t_arm, cens_arm = first_reach(x_arm, energy_arm, target)
            with np.errstate(divide="ignore", invalid="ignore"):
                per_seed = np.where(np.isfinite(target), t_ref / t_arm, np.nan)
            valid = np.all(np.isfinite(per_seed) & (per_seed > 0))
            ratio = float(_geometric_mean(per_seed)) if valid else float("nan")
            if valid:
                spread = _geometric_mean(per_seed[draws])
                low, high = np.quantile(spread, [(1 - level) / 2, (1 + level) / 2])
            else:
                low = high = float("nan")
            bound = "upper" if cens_arm.any() else "lower" if cens_ref.any() else None
            censored = int(np.sum(cens_arm | cens_ref))
            rows.append(
                Comparison(
                    float(c),
                    direction,
                    ratio,
                    float(low),
                    float(high),
                    bound,
                    censored,
                    per_seed,
                    n_seeds,
                    failed,
                    chosen_from,
                )  # fmt: skip
            )
    return rows
