"""Experiment 2 in mean-field scaling (kernel mode): sweep α at fixed n and n at fixed α, schemes A and B
against GD, at half the run and at its end.

The sweep is the ``[sweep]`` table of the bundled ``exp2_meanfield_sweep`` (``mfbd run exp2_meanfield_sweep``
runs it alone): the four α at n = 200 run as one vmapped program per arm
(:mod:`mfbd.config.sweep`, run by :func:`mfbd.runner.run`).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from experiments.common import save_figure, smoke_config
from experiments.paper.runs import seed_sets, write_summary, write_tables
from experiments.paper.stats import speedup, speedup_text
from mfbd import runner
from mfbd.config import read
from mfbd.runner.rundir import read_points

FIXED = (200, 0.1)
SMOKE_ALPHAS, SMOKE_WIDTHS, SMOKE_FIXED = (0.1, 1.0), (16, 32), (16, 0.1)
SMOKE = dict(steps=200, n=min(SMOKE_WIDTHS), seeds=2)
STYLES = {"gd": ("GD", "C0"), "bd": ("GD+BD (A)", "C1"), "rw": ("GD+reweighting (B)", "C2")}


def run_sweep(name: str, args, sets, out: Path, **smoke_sizes) -> tuple[list[dict], float]:
    """Run the bundled sweep ``name`` with ``sets`` and ``--seeds``, shrunk to ``smoke_sizes`` under ``--smoke``
    (:func:`mfbd.config.shrink`: a swept run.n keeps its ratios), into a fresh ``out``; (points, wall seconds).

    Points are :func:`mfbd.runner.rundir.read_points`; a diverged arm is kept (its records up to the stop).
    """
    sets = [*sets, *seed_sets(args)]
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    status = runner.run(smoke_config(read(name, sets), args.smoke, **smoke_sizes), str(out))
    wall = time.perf_counter() - t0
    for message in status.failures:
        print(f"  {name}: {message} (kept as diverged)", flush=True)
    if status.code not in (0, 1):
        raise SystemExit(f"experiments: {name} ended with exit code {status.code}; see {out}")
    print(f"  {name} {' '.join(sets)}: {wall:.1f} s", flush=True)
    return read_points(out), wall


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
    fixed_n, fixed_alpha = SMOKE_FIXED if args.smoke else FIXED
    sets = []
    if args.smoke:
        grid = [(a, fixed_n) for a in SMOKE_ALPHAS] + [(fixed_alpha, n) for n in SMOKE_WIDTHS if n != fixed_n]
        alphas, widths = (list(column) for column in zip(*grid, strict=True))
        sets = [f"sweep.arms.bd.alpha={alphas}", f"sweep.arms.rw.alpha={alphas}", f"sweep.run.n={widths}"]
    points, wall = run_sweep("exp2_meanfield_sweep", args, sets, args.runs / "exp2_meanfield", **SMOKE)
    rows = []
    for point in points:
        alpha, n = float(point["values"]["arms.bd.alpha"]), int(point["values"]["run.n"])
        rows += sweep_rows(point["metrics"], alpha, n)
    out = args.results / "exp2_meanfield"
    write_tables(out, {"sweep": rows})
    plot_sweep(rows, fixed_n, fixed_alpha, out)
    summary = {"wall_seconds": {"sweep": wall}, "fixed_n": fixed_n, "fixed_alpha": fixed_alpha, "sets": seed_sets(args)}
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
