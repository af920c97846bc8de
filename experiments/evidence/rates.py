"""Study (c): the rate claims on experiment 1 through the Eulerian PDE (``mfbd.pde``), no finite-n noise.

E(t) of ∂_t ρ = ∇·(ρ∇V) − α(V − V̄)ρ from the good start to t = 30 for α ∈ {0, 1, 5, 20} (first-order
upwind, the study's box y ∈ [−4, 4], c ∈ [−5, 5], h = 0.2; h = 0.1 for α ∈ {0, 5} as a grid check), and
two fits over the late window t ∈ [10, 30]: exponential, log E = a − λt, and algebraic,
log E = b − p log t (least squares; the one with the smaller residual is the better description).
E* = 0 (the target is a continuous mixture of the units).
"""

from __future__ import annotations

import json
import time

import numpy as np

from experiments.common import md_table, write_rows
from experiments.evidence.common import RESULTS
from experiments.pde.base import grid_at, pde_trajectory

ALPHAS = (0.0, 1.0, 5.0, 20.0)
T_END, WINDOW, RECORD = 30.0, (10.0, 30.0), 0.5


def fits(times, energy):
    """``{lambda, rss_exp, p, rss_alg}`` of the two late-window fits of log E."""
    late = (times >= WINDOW[0]) & (times <= WINDOW[1]) & (energy > 0)
    t, y = times[late], np.log(energy[late])
    out = {}
    for name, x in (("exp", t), ("alg", np.log(t))):
        coef, rss, *_ = np.polyfit(x, y, 1, full=True)
        out[name] = (-coef[0], float(rss[0]) if len(rss) else 0.0)
    return {"lambda": out["exp"][0], "rss_exp": out["exp"][1], "p": out["alg"][0], "rss_alg": out["alg"][1]}


def main(seeds: int = 0, smoke: bool = False):
    import mfbd

    del seeds  # deterministic
    problem = mfbd.problems.gaussian_mixture_1d("good")
    runs = [(0, a) for a in ALPHAS] + ([] if smoke else [(1, 0.0), (1, 5.0)])  # h = 0.1 as a grid check
    t_end = 12.0 if smoke else T_END
    out = RESULTS / ("rates_smoke" if smoke else "rates")
    out.mkdir(parents=True, exist_ok=True)
    rows, curves, t0 = [], [], time.perf_counter()
    for level, alpha in runs:
        dt, times, energy, _, _, wall = pde_trajectory(problem, grid_at(level), alpha, None, t_end, record=RECORD)
        fit = fits(times, energy) if not smoke else {}
        at = {f"E(t={t:g})": float(np.interp(t, times, energy)) for t in (1, 3, 10, 20, 30) if t <= t_end}
        rows.append({"h": 0.2 / 2**level, "alpha": alpha, "dt": dt, **at, **fit, "wall_s": wall})
        curves += [{"h": 0.2 / 2**level, "alpha": alpha, "t": float(t), "energy": float(e)}
                   for t, e in zip(times, energy, strict=True)]  # fmt: skip
        print(rows[-1], flush=True)
    write_rows(out / "rates.csv", rows)
    write_rows(out / "curves.csv", curves)
    (out / "table.md").write_text(md_table(rows, list(rows[0])))
    (out / "summary.json").write_text(json.dumps({"wall_seconds_total": time.perf_counter() - t0}, indent=1))
