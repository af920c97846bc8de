"""Experiment 2 schedules (the earlier study's stored curves, ``results/exp2_schedules/curves.csv``) read
with :func:`mfbd.stats.compare` in both directions, in mean-field time and in oracle passes.

Only seed means were stored (5 seeds), so there is one "seed" per arm: no interval, no per-seed
failures. The checkpoint is t = 5 000 (the arms' horizon; 1 000 steps of Δt = 5 for GD, one pass each).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from experiments.common import md_table, write_rows
from experiments.evidence.common import RESULTS
from mfbd import stats

CURVES = Path(__file__).resolve().parents[1] / "results" / "exp2_schedules" / "curves.csv"
DT, HORIZON = 5.0, 5000.0


def main(seeds: int = 0, smoke: bool = False):
    del seeds, smoke
    rows = list(csv.DictReader(open(CURVES)))

    def curve(arm):
        r = [x for x in rows if x["arm"] == arm]
        return np.array([float(x["t"]) for x in r]), np.array([float(x["energy_mean"]) for x in r])

    t_gd, e_gd = curve("GD")
    # each scheme's winner was chosen from that scheme's arms of the grid (all α, schedules, gradients)
    grid = {s: len({x["arm"] for x in rows if x["scheme"] == s}) for s in ("A", "B")}
    out = []
    for arm in sorted({x["arm"] for x in rows if x["arm"] != "GD" and x["dt"] == "5"}):
        t, e = curve(arm)
        if t[-1] != HORIZON or not np.all(np.isfinite(e)):
            continue
        passes = 2 if arm.endswith("fresh") else 1
        units = (("time", t, t_gd, HORIZON), ("oracle passes", t / DT * passes, t_gd / DT, HORIZON / DT))
        for unit, x_arm, x_gd, c in units:
            for r in stats.compare(x_arm, e[None], x_gd, e_gd[None], [c], bootstrap=2, chosen_from=grid[arm[0]]):
                out.append(
                    {
                        "arm": arm,
                        "unit": unit,
                        "direction": r.direction,
                        "ratio": round(r.ratio, 3),
                        "bound": r.bound or "",
                        "ends_above_gd": r.failed,
                        "chosen_from": r.chosen_from,
                    }
                )
    target = RESULTS / "exp2_recheck"
    target.mkdir(parents=True, exist_ok=True)
    write_rows(target / "recheck.csv", out)
    (target / "table.md").write_text(md_table(out, list(out[0])))
    print(md_table(out, list(out[0])))


if __name__ == "__main__":
    main()
