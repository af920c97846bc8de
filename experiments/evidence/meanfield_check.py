"""Study (d): the mean-field-limit meter (:func:`mfbd.meanfield.ladder`) on experiment 1 against the PDE.

GD and GD+BD (mfbd's defaults: centred rates, exponential probabilities, rebalance, α = 5, no quench),
Δt = 0.01, good start, n ∈ {50, 100, 200, 400} nested, 16 seeds, to t = 10 (``--large``: n up to 3 200,
to t = 30, for a GPU); E_∞(t) and C(t) from the
per-seed weighted fit E_n = E_∞ + C/n, set beside the Eulerian PDE's E(t) (study (c), h = 0.2 and 0.1).
"""

from __future__ import annotations

import csv
import json
import time

import numpy as np

import mfbd
from experiments.common import md_table, write_rows
from experiments.evidence.common import RESULTS

SIZES, T_END, RECORD = (50, 100, 200, 400), 10.0, 5.0


def main(seeds: int = 16, smoke: bool = False, large: bool = False):
    problem = mfbd.problems.gaussian_mixture_1d("good")
    sizes, t_end = (SIZES[:2], 2.0) if smoke else (SIZES, T_END)
    if large:  # the GPU size: the n-ladder at t = 10 and 30 against the PDE's E(t)
        sizes, t_end = (100, 200, 400, 800, 1600, 3200), 30.0
    seeds = 4 if smoke else seeds
    dt = 0.01
    pde = {}
    rates = RESULTS / "rates" / "rates.csv"
    if rates.exists():
        for r in csv.DictReader(open(rates)):
            pde[(float(r["h"]), float(r["alpha"]))] = r
    rows, t0 = [], time.perf_counter()
    for name, alpha, scheme in (
        ("GD", 0.0, mfbd.gradient_flow(problem, dt)),
        ("GD+BD", 5.0, mfbd.birth_death(problem, dt, 5.0)),
    ):
        start = time.perf_counter()
        meter = mfbd.meanfield.ladder(
            problem, scheme, sizes, range(seeds), round(t_end / dt), record_every=round(RECORD / dt)
        )
        wall = time.perf_counter() - start
        for r, t in enumerate(meter.time):
            if t == 0:
                continue
            row = {"arm": name, "t": float(t)}
            for i, n in enumerate(meter.sizes):
                row[f"E_{n}"] = f"{meter.mean[i, r]:.4g} ± {meter.sd[i, r] / np.sqrt(seeds):.2g}"
            row["E_inf"] = f"{meter.e_inf[r]:.4g} ± {meter.e_inf_se[r]:.2g}"
            row["C"] = f"{meter.c[r]:.3g} ± {meter.c_se[r]:.2g}"
            for h in (0.2, 0.1):
                p = pde.get((h, alpha))
                row[f"PDE h={h}"] = f"{float(p[f'E(t={t:g})']):.4g}" if p and f"E(t={t:g})" in p else "–"
            row["wall_s"] = round(wall, 1)
            rows.append(row)
            print(row, flush=True)
    out = RESULTS / ("meanfield_smoke" if smoke else "meanfield_large" if large else "meanfield")
    out.mkdir(parents=True, exist_ok=True)
    write_rows(out / "ladder.csv", rows)
    (out / "table.md").write_text(md_table(rows, list(rows[0])))
    (out / "summary.json").write_text(json.dumps({"wall_seconds_total": time.perf_counter() - t0, "seeds": seeds}))
