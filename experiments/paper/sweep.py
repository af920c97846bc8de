"""Experiment 2 in mean-field scaling (kernel mode): sweep α at fixed n and n at fixed α, schemes A and B
against GD, at half the run and at its end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from experiments.common import save_figure
from experiments.paper.runs import config, run, seed_sets, write_summary, write_tables
from experiments.paper.stats import speedup, speedup_text
from mfbd.runner import read_metrics

ALPHAS, WIDTHS, FIXED = (0.01, 0.1, 1.0, 10.0), (50, 100, 200, 500, 1000), (200, 0.1)
SMOKE_ALPHAS, SMOKE_WIDTHS, SMOKE_FIXED = (0.1, 1.0), (16, 32), (16, 0.1)
SMOKE = dict(steps=200, seeds=2)
STYLES = {"gd": ("GD", "C0"), "bd": ("GD+BD (A)", "C1"), "rw": ("GD+reweighting (B)", "C2")}


def sweep_rows(metrics, alpha, n) -> list[dict]:
    """Per arm: the energy at half the run and at its end (mean, sd over seeds), the speed-up at half."""
    steps, times = metrics["gd"]["step"][0], metrics["gd"]["time"][0]
    mid = len(steps) // 2
    rows = []
    for arm, m in metrics.items():
        e = m["energy"]
        if e.shape[1] < len(steps):  # the arm diverged: pad with nan
            e = np.concatenate([e, np.full((e.shape[0], len(steps) - e.shape[1]), np.nan)], axis=1)
        factor, bound = speedup(metrics["gd"]["energy"], e, steps, int(steps[mid])) if arm != "gd" else (1, False)
        half, final = e[:, mid], e[:, -1]
        rows.append(
            {
                "alpha": alpha,
                "n": n,
                "arm": arm,
                "t_half": float(times[mid]),
                "energy_half_mean": float(np.mean(half)),
                "energy_half_sd": float(np.std(half, ddof=1)),
                "energy_final_mean": float(np.mean(final)),
                "energy_final_sd": float(np.std(final, ddof=1)),
                "speedup_over_gd_at_half": speedup_text(factor, bound),
            }
        )
    return rows


def exp2_meanfield(args) -> dict:
    """Mean-field experiment 2: sweep α at fixed n, and n at fixed α; schemes A and B against GD."""
    alphas, widths = (SMOKE_ALPHAS, SMOKE_WIDTHS) if args.smoke else (ALPHAS, WIDTHS)
    fixed_n, fixed_alpha = SMOKE_FIXED if args.smoke else FIXED
    out = args.results / "exp2_meanfield"
    rows, walls = [], {}
    grid = [(a, fixed_n) for a in alphas] + [(fixed_alpha, n) for n in widths if n != fixed_n]
    for alpha, n in grid:
        sets = [f"run.n={n}", f"arms.bd.alpha={alpha}", f"arms.rw.alpha={alpha}"]
        cfg, sets = config("exp2_meanfield_sweep", args, sets, n=n, **SMOKE)
        run_dir, wall = run(cfg, args.runs / f"exp2_meanfield-a{alpha}-n{n}", " ".join(sets))
        walls[f"alpha={alpha},n={n}"] = wall
        rows += sweep_rows(read_metrics(run_dir), alpha, n)
        write_tables(out, {"sweep": rows})  # after every run: a cut sweep keeps its rows
    plot_sweep(rows, fixed_n, fixed_alpha, out)
    summary = {"wall_seconds": walls, "fixed_n": fixed_n, "fixed_alpha": fixed_alpha, "sets": seed_sets(args)}
    summary["smoke"] = args.smoke
    write_summary(out, summary)
    return summary


def plot_sweep(rows, fixed_n, fixed_alpha, out: Path):
    """Final energy against α (at fixed n) and against n (at fixed α), per arm."""
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    for arm, (label, color) in STYLES.items():
        by_alpha = [r for r in rows if r["arm"] == arm and r["n"] == fixed_n]
        by_n = sorted((r for r in rows if r["arm"] == arm and r["alpha"] == fixed_alpha), key=lambda r: r["n"])
        for ax, sel, x in ((left, by_alpha, "alpha"), (right, by_n, "n")):
            ax.errorbar([r[x] for r in sel], [r["energy_final_mean"] for r in sel],
                        yerr=[r["energy_final_sd"] for r in sel], color=color, marker="o", capsize=3,
                        label=label)  # fmt: skip
    left.set(xscale="log", yscale="log", xlabel="α", ylabel="final energy (mean ± sd over seeds)",
             title=f"n = {fixed_n}")  # fmt: skip
    right.set(xscale="log", yscale="log", xlabel="n", title=f"α = {fixed_alpha}")
    left.legend()
    save_figure(fig, out / "sweep.png")
