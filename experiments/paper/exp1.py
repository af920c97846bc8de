"""Experiment 1 (mixture of Gaussians in 1-D), good or bad start, with all five arms over seeds.

Good start: the speed-up over GD is measured against GD alone run 10× longer from the same starts. Bad start:
the escape from GD's plateau, as the first step below half of GD's plateau energy, and the mass that reaches
the right-hand bump (y > 1).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from experiments.paper.runs import config, figures, labels_of, mass_right, run, write_summary, write_tables
from experiments.paper.stats import SPEEDUP_COLUMNS, arm_tables, reach
from mfbd.runner import read_metrics

SMOKE = dict(steps=400, n=16, seeds=2)


def long_gd(cfg, factor: int = 10):
    """GD alone, ``factor``× longer than ``cfg`` with the same record spacing, one chunk per original run."""
    steps = factor * cfg.run.steps
    run_ = dataclasses.replace(cfg.run, steps=steps, checkpoint_every=steps, chunk=cfg.run.steps)
    return dataclasses.replace(cfg, run=run_, arms=tuple((a, arm) for a, arm in cfg.arms if a == "gd"))


def escape_rows(metrics, labels, run_dir, plateau) -> list[dict]:
    """Per arm: final energy, the median escape step (below plateau/2) and the mass in the right-hand bump."""
    rows = []
    for arm, m in metrics.items():
        median, reached = reach(m["energy"], m["step"][0], plateau / 2)
        right = mass_right(run_dir, arm)
        rows.append(
            {
                "arm": arm,
                "label": labels[arm],
                "final_energy_mean": float(np.mean(m["energy"][:, -1])),
                "final_energy_sd": float(np.std(m["energy"][:, -1], ddof=1)),
                "median_escape_step": median,
                "seeds_escaping": reached,
                "mass_y_gt_1_mean": float(np.mean(right)),
                "mass_y_gt_1_sd": float(np.std(right, ddof=1)),
            }
        )
    return rows


def exp1(start: str, args) -> dict:
    """Experiment 1 (good or bad start) with all five arms."""
    name = f"exp1_{start}"
    cfg, sets = config(f"{name}_all", args, **SMOKE)
    run_dir, wall = run(cfg, args.runs / name, " ".join(sets))
    metrics, labels = read_metrics(run_dir), labels_of(cfg)
    steps = cfg.run.steps
    checkpoints = [s for s in (100, 300, 1000, 2000, 3000, 5000, 10000) if s <= steps]
    summary = {"config": f"{name}_all", "sets": sets, "smoke": args.smoke, "wall_seconds": wall}
    summary["seeds"] = len(cfg.run.seed_list)
    reference = None
    if start == "good":
        long_dir, long_wall = run(long_gd(cfg), args.runs / f"{name}_gd_long", "GD alone, 10× longer")
        reference = read_metrics(long_dir)["gd"]["energy"]
        summary["gd_reference"] = {"steps": 10 * steps, "wall_seconds": long_wall}
    speedup_at = [s for s in (300, 1000) if s < steps]
    tables = arm_tables(metrics, labels, "energy", checkpoints, (1e-3, 1e-4, 3e-5), speedup_at, reference)
    if start == "bad":
        # The plateau: GD's energy over the last 1000 steps (mean over seeds and records).
        gd = metrics["gd"]
        plateau = float(np.mean(gd["energy"][:, gd["step"][0] > steps - 1000]))
        tables["escape"] = escape_rows(metrics, labels, run_dir, plateau)
        summary["plateau_gd"] = plateau
        summary["escape_threshold"] = plateau / 2
    out = args.results / name
    write_tables(out, tables, {"speedup": SPEEDUP_COLUMNS})
    figures(run_dir, cfg, out)
    write_summary(out, summary)
    return summary
