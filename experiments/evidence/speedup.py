"""Study (a): experiment 1, good start, GD+BD and GD+RW against GD in mean-field time, oracle passes and
wall-clock, paired over seeds, with :func:`mfbd.stats.compare` at several checkpoints.

Settings: configs/exp1_good.toml (n = 200, Euler Δt = 0.01, float64); GD+BD with the notebook's choices
(α = 5, uncentred, linear probabilities, rebalance, quench for the last 1000 of 3000 steps), GD+BD-μ_b the
same with births from μ_b (two oracle passes per step), GD+RW scheme B at α = 5. GD runs 4× longer
(12 000 steps) so that the reference can reach the arms' energies; a time beyond that is a bound.
"""

from __future__ import annotations

import json
import time

import numpy as np

import mfbd
from experiments.common import md_table, write_rows
from experiments.evidence.common import RESULTS, run_interleaved
from mfbd import stats

DT, N, STEPS, ALPHA = 0.01, 200, 3000, 5.0
CHECKPOINT_STEPS = (300, 1000, 2000, 3000)
NOTEBOOK = dict(rates="uncentred", probability="linear", control="rebalance", quench_after=STEPS - 1000)


def arms(problem):
    return {
        "GD": mfbd.gradient_flow(problem, DT),
        "GD+BD": mfbd.birth_death(problem, DT, ALPHA, **NOTEBOOK),
        "GD+BD-μ_b": mfbd.birth_death(problem, DT, ALPHA, prior="fill_deficit", **NOTEBOOK),
        "GD+RW": mfbd.reweighting(problem, DT, ALPHA),
    }


def rows_of(traces, reference="GD", record_every=10):
    """One row per arm, unit, checkpoint and direction."""
    ref = traces[reference]
    rows = []
    for name, tr in traces.items():
        if name == reference:
            continue
        for unit, key in (("time", "time"), ("oracle passes", "passes"), ("wall-clock s", "wall")):
            x_ref, x_arm = ref[key], tr[key]
            at = [np.asarray(x_ref)[..., s // record_every] for s in CHECKPOINT_STEPS]
            checkpoints = [float(np.mean(c)) for c in at]  # per unit: GD's x at those steps (seed-shared)
            for step, row in zip(
                np.repeat(CHECKPOINT_STEPS, 2),
                stats.compare(x_arm, tr["energy"], x_ref, ref["energy"], checkpoints),
                strict=True,
            ):
                rows.append({
                    "arm": name, "unit": unit, "gd_step": int(step), "checkpoint": row.checkpoint,
                    "direction": row.direction, "ratio": row.ratio, "low": row.low, "high": row.high,
                    "bound": row.bound or "", "censored": row.censored, "seeds": row.seeds, "failed": row.failed,
                    "chosen_from": row.chosen_from,
                })  # fmt: skip
    return rows


KEYS = ("energy", "time", "passes", "wall")


def main(seeds: int = 20, smoke: bool = False, report_only: bool = False):
    problem = mfbd.problems.gaussian_mixture_1d("good")
    steps = STEPS if not smoke else 600
    out = RESULTS / ("speedup_smoke" if smoke else "speedup")
    out.mkdir(parents=True, exist_ok=True)
    if report_only:  # the tables from the saved per-seed curves
        saved = np.load(out / "traces.npz")
        traces = {name: {k: saved[f"{name}/{k}"] for k in KEYS} for name in arms(problem)}
        summary = json.loads((out / "summary.json").read_text())
    else:
        schemes = arms(problem)
        lengths = {name: (4 * steps if name == "GD" else steps) for name in schemes}
        t0 = time.perf_counter()
        traces = run_interleaved(problem, schemes, list(range(seeds)), N, lengths, 10, 100)
        wall = time.perf_counter() - t0
        np.savez_compressed(out / "traces.npz", **{f"{n}/{k}": tr[k] for n, tr in traces.items() for k in KEYS})
        # wall per step over the interleaved window (the first `steps` steps of every arm)
        per_step = {n: float(tr["wall"][steps // 10] / steps) for n, tr in traces.items()}
        summary = {
            "seeds": seeds, "n": N, "dt": DT, "steps": lengths, "wall_seconds_total": wall,
            "compile_s": {n: tr["compile_s"] for n, tr in traces.items()},
            "wall_per_step_s_interleaved": per_step,
            "wall_per_step_vs_gd": {n: per_step[n] / per_step["GD"] for n in per_step},
            "passes_per_step": {n: float(tr["passes"][0, -1] - 1) / tr["step"][0, -1] for n, tr in traces.items()},
            "energy_at_step_3000": {n: [float(np.mean(tr["energy"][:, steps // 10])),
                                        float(np.std(tr["energy"][:, steps // 10], ddof=1))]
                                    for n, tr in traces.items()},
        }  # fmt: skip
        (out / "summary.json").write_text(json.dumps(summary, indent=1))
        curves = []
        for name, tr in traces.items():
            for r in range(tr["energy"].shape[1]):
                curves.append({"arm": name, "step": 10 * r, "passes": int(tr["passes"][0, r]),
                               "wall_s": float(tr["wall"][r]), "energy_mean": float(np.mean(tr["energy"][:, r])),
                               "energy_sd": float(np.std(tr["energy"][:, r], ddof=1))})  # fmt: skip
        write_rows(out / "curves.csv", curves)
    if not smoke:
        rows = rows_of(traces)
        write_rows(out / "speedup.csv", rows)
        table = [
            {k: (f"{v:.3g}" if isinstance(v, float) else v) for k, v in r.items() if k not in ("seeds", "chosen_from")}
            for r in rows
        ]
        (out / "table.md").write_text(md_table(table, list(table[0])))
    print(json.dumps(summary, indent=1))
    return summary
