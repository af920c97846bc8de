"""The statistics of the paper tables: first hitting steps, speed-ups over GD, per-arm tables (dict rows).

* energy at a step: mean ± standard deviation over seeds;
* time to a threshold: the first recorded step at which a seed's energy is at or below it (median over the
  seeds that reach it, and how many do);
* speed-up of an arm over GD at step s: the step at which GD's seed-mean energy first reaches the arm's
  seed-mean energy at step s, linear in log E between records, divided by s (a lower bound ``>`` when GD
  never reaches it within the run); :func:`experiments.common.speedup`, the one definition of the studies.
"""

from __future__ import annotations

import numpy as np

from experiments.common import speedup as common_speedup

SPEEDUP_COLUMNS = ["arm", "label", "at_step", "speedup_over_gd", "energy_ratio_gd_over_arm"]


def first_hit(values: np.ndarray, steps: np.ndarray, threshold: float) -> np.ndarray:
    """Per seed (rows), the first step with value ≤ threshold (nan if never)."""
    hit = values <= threshold
    first = np.argmax(hit, axis=1)
    return np.where(hit.any(axis=1), steps[first], np.nan)


def speedup(reference: np.ndarray, arm: np.ndarray, steps: np.ndarray, at: int) -> tuple[float, bool]:
    """(steps GD needs to reach the arm's energy at step ``at``) / ``at``, and whether it is a lower bound."""
    i = int(np.searchsorted(steps, at))
    return common_speedup(steps, reference, float(np.mean(arm[:, i])), at)


def speedup_text(factor: float, bound: bool) -> str:
    return ("> " if bound else "") + f"{factor:.2f}"


def reach(values: np.ndarray, steps: np.ndarray, threshold: float) -> tuple[float, str]:
    """(median first step at or below ``threshold`` over the seeds that reach it, "reached/seeds")."""
    hits = first_hit(values, steps, threshold)
    reached = int(np.sum(~np.isnan(hits)))
    return (float(np.nanmedian(hits)) if reached else float("nan")), f"{reached}/{len(hits)}"


def arm_tables(metrics: dict, labels: dict, column: str, checkpoints, thresholds, speedup_at, reference=None) -> dict:
    """Energy at checkpoints, time to thresholds and speed-up over GD: ``{table name: dict rows}``.

    ``reference`` is GD's ``[seeds, records]`` array with the same record
    spacing (possibly a longer run); default the ``gd`` arm of ``metrics``.
    """
    if reference is None and "gd" in metrics:
        reference = metrics["gd"][column]
    energy_rows, threshold_rows, speed_rows = [], [], []
    for arm, m in metrics.items():
        steps, values = m["step"][0], m[column]
        common = {"arm": arm, "label": labels[arm]}
        for s in checkpoints:
            i = int(np.searchsorted(steps, s))
            energy_rows.append(
                common | {"step": int(steps[i]), "mean": np.mean(values[:, i]), "sd": np.std(values[:, i], ddof=1)}
            )
        for thr in thresholds:
            median, reached = reach(values, steps, thr)
            threshold_rows.append(common | {"threshold": thr, "median_first_step": median, "seeds_reaching": reached})
        if arm != "gd" and reference is not None:
            for s in speedup_at:
                ref_steps = steps[0] + (steps[1] - steps[0]) * np.arange(reference.shape[1])
                factor, bound = speedup(reference, values, ref_steps, s)
                i = int(np.searchsorted(steps, s))
                ratio = np.mean(reference[:, i]) / np.mean(values[:, i])
                speed_rows.append(
                    common
                    | {
                        "at_step": s,
                        "speedup_over_gd": speedup_text(factor, bound),
                        "energy_ratio_gd_over_arm": ratio,
                    }
                )
    return {"energy": energy_rows, "thresholds": threshold_rows, "speedup": speed_rows}
