"""Reproduce the paper's experiments over seeds and compare with its claims.

Each subcommand runs bundled configs through the runner (raw run directories
under ``experiments/runs/``, not committed) and writes compact results (CSV
tables, PNG figures, a ``summary.json``) under ``experiments/results/<name>/``:

    python -m experiments.paper exp1-good        # experiment 1, good start, 5 arms × 20 seeds
    python -m experiments.paper exp1-bad         # experiment 1, bad start, 10 000 steps
    python -m experiments.paper exp2-notebook    # experiment 2, 2020 and ICML notebook settings
    python -m experiments.paper exp2-meanfield   # experiment 2, mean-field kernel mode, sweeps of α and n
    python -m experiments.paper finite-n         # experiment 1, energy gap against n (1/n law)

``--smoke`` runs a tiny version of any of them (used by the tests).
Definitions used in the tables:

* energy at a step: mean ± standard deviation over seeds;
* time to a threshold: the first recorded step at which a seed's energy is at or
  below it (median over the seeds that reach it, and how many do);
* speed-up of an arm over GD at step s: the step at which GD's seed-mean energy
  first reaches the arm's seed-mean energy at step s, divided by s (a lower
  bound ``>`` when GD never reaches it within the run).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path

import jax
import numpy as np

from mfbd.config import load, make_problem
from mfbd.plotting import energy_figure, particles_figure
from mfbd.runner import read_metrics, read_snapshots, start

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
RUNS = HERE / "runs"


# --- running ------------------------------------------------------------------------------------------------------


def run(config, sets: list[str], out: Path) -> tuple[Path, float, object]:
    """Run a config (a bundled name with ``sets`` overrides, or a Config) into a fresh ``out``.

    Returns (run_dir, wall seconds, config).
    """
    cfg = load(config, sets) if isinstance(config, str) else config
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    code = start(cfg, str(out), quiet=True, plot=False)
    wall = time.perf_counter() - t0
    if code == 1:
        print(f"  {cfg.name}: an arm stopped on a non-finite value (kept as diverged)", flush=True)
    elif code != 0:
        raise SystemExit(f"experiments: {config} {' '.join(sets)} ended with exit code {code}; see {out}")
    print(f"  {cfg.name} {' '.join(sets)}: {wall:.1f} s", flush=True)
    return out, wall, cfg


# --- statistics ---------------------------------------------------------------------------------------------------


def first_hit(values: np.ndarray, steps: np.ndarray, threshold: float) -> np.ndarray:
    """Per seed (rows), the first step with value ≤ threshold (nan if never)."""
    hit = values <= threshold
    first = np.argmax(hit, axis=1)
    return np.where(hit.any(axis=1), steps[first], np.nan)


def speedup(reference: np.ndarray, arm: np.ndarray, steps: np.ndarray, at: int) -> tuple[float, bool]:
    """(steps GD needs to reach the arm's energy at step ``at``) / ``at``, and whether it is a lower bound."""
    i = int(np.searchsorted(steps, at))
    target = np.mean(arm[:, i])
    hit = first_hit(np.mean(reference, axis=0)[None, :], steps, target)[0]
    if np.isnan(hit):
        return float(steps[-1]) / at, True
    return float(hit) / at, False


def arm_tables(metrics: dict, labels: dict, column: str, checkpoints, thresholds, speedup_at, reference=None) -> dict:
    """Energy at checkpoints, time to thresholds and speed-up over GD, as lists of rows.

    ``reference`` is GD's ``[seeds, records]`` array with the same record
    spacing (possibly a longer run); default the ``gd`` arm of ``metrics``.
    """
    if reference is None and "gd" in metrics:
        reference = metrics["gd"][column]
    energy_rows, threshold_rows, speed_rows = [], [], []
    for arm, m in metrics.items():
        steps, values = m["step"][0], m[column]
        for s in checkpoints:
            i = int(np.searchsorted(steps, s))
            energy_rows.append([arm, labels[arm], int(steps[i]), np.mean(values[:, i]), np.std(values[:, i], ddof=1)])
        for thr in thresholds:
            hits = first_hit(values, steps, thr)
            reached = int(np.sum(~np.isnan(hits)))
            median = float(np.nanmedian(hits)) if reached else float("nan")
            threshold_rows.append([arm, labels[arm], thr, median, f"{reached}/{len(hits)}"])
        if arm != "gd" and reference is not None:
            for s in speedup_at:
                ref_steps = steps[0] + (steps[1] - steps[0]) * np.arange(reference.shape[1])
                factor, bound = speedup(reference, values, ref_steps, s)
                i = int(np.searchsorted(steps, s))
                ratio = np.mean(reference[:, i]) / np.mean(values[:, i])
                speed_rows.append([arm, labels[arm], s, ("> " if bound else "") + f"{factor:.2f}", ratio])
    return {
        "energy": (["arm", "label", "step", "mean", "sd"], energy_rows),
        "thresholds": (["arm", "label", "threshold", "median_first_step", "seeds_reaching"], threshold_rows),
        "speedup": (["arm", "label", "at_step", "speedup_over_gd", "energy_ratio_gd_over_arm"], speed_rows),
    }


def write_tables(folder: Path, tables: dict):
    folder.mkdir(parents=True, exist_ok=True)
    for name, (header, rows) in tables.items():
        with open(folder / f"{name}.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows([[f"{v:.4g}" if isinstance(v, float) else v for v in row] for row in rows])


def save_figure(fig, path: Path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=120)


def figures(run_dir: Path, cfg, folder: Path, prefix: str = ""):
    """The runner's energy and particle figures, as PNG into ``folder``."""

    metrics = read_metrics(run_dir)
    save_figure(energy_figure(cfg, metrics), folder / f"{prefix}energy.png")
    x64 = cfg.run.dtype == "float64"
    with jax.enable_x64(x64):
        problem = make_problem(cfg.problem, cfg.run.n, x64)
        snapshots = {name: read_snapshots(run_dir, name) for name, _ in cfg.arms}
        save_figure(particles_figure(cfg, problem, snapshots), folder / f"{prefix}particles.png")


def labels_of(cfg) -> dict:
    return {name: cfg.label(name) for name, _ in cfg.arms}


def write_summary(folder: Path, summary: dict):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")


# --- experiments --------------------------------------------------------------------------------------------------


def _mass_right(run_dir: Path, arm: str) -> np.ndarray:
    """Per seed, the weight of the particles with y > 1 at the last snapshot (the right-hand bump)."""
    last = read_snapshots(run_dir, arm)[-1]
    w = np.exp(last["log_weights"] - np.logaddexp.reduce(last["log_weights"], axis=1, keepdims=True))
    return np.sum(w * (last["particles"]["y"] > 1.0), axis=1)


def exp1(start: str, args) -> dict:
    """Experiment 1 (good or bad start) with all five arms."""
    name = f"exp1_{start}"
    sets = [] if not args.smoke else ["run.seeds=2", "run.steps=400", "run.n=16", "run.checkpoint_every=400"]
    if args.smoke:
        sets += [f"arms.{arm}.quench_last=100" for arm in ("bd", "bd_prior", "bd_default")]
    if args.seeds and not args.smoke:
        sets.append(f"run.seeds={args.seeds}")
    run_dir, wall, cfg = run(f"{name}_all", sets, args.runs / name)
    metrics, labels = read_metrics(run_dir), labels_of(cfg)
    steps = cfg.run.steps
    checkpoints = [s for s in (100, 300, 1000, 2000, 3000, 5000, 10000) if s <= steps]
    summary = {"config": f"{name}_all", "sets": sets, "wall_seconds": wall, "seeds": len(cfg.run.seed_list)}
    reference = None
    if start == "good":
        # GD alone, 10× longer from the same starts, so that the speed-up is measured rather than bounded.
        long_sets = sets + [f"run.steps={10 * steps}", f"run.checkpoint_every={10 * steps}", f"run.chunk={steps}"]
        long_cfg = load(f"{name}_all", long_sets)
        long_cfg = dataclasses.replace(long_cfg, arms=tuple((a, arm) for a, arm in long_cfg.arms if a == "gd"))
        long_dir, long_wall, _ = run(long_cfg, long_sets, args.runs / f"{name}_gd_long")
        reference = read_metrics(long_dir)["gd"]["energy"]
        summary["gd_reference"] = {"steps": 10 * steps, "wall_seconds": long_wall}
    speedup_at = [s for s in (300, 1000) if s < steps]
    tables = arm_tables(metrics, labels, "energy", checkpoints, (1e-3, 1e-4, 3e-5), speedup_at, reference)
    if start == "bad":
        # The plateau: GD's energy over the last 1000 steps (mean over seeds and records).
        gd = metrics["gd"]
        tail = gd["step"][0] > steps - 1000
        plateau = float(np.mean(gd["energy"][:, tail]))
        rows = []
        for arm, m in metrics.items():
            hits = first_hit(m["energy"], m["step"][0], plateau / 2)
            reached = int(np.sum(~np.isnan(hits)))
            right = _mass_right(run_dir, arm)
            rows.append(
                [
                    arm,
                    labels[arm],
                    float(np.mean(m["energy"][:, -1])),
                    float(np.std(m["energy"][:, -1], ddof=1)),
                    float(np.nanmedian(hits)) if reached else float("nan"),
                    f"{reached}/{len(hits)}",
                    float(np.mean(right)),
                    float(np.std(right, ddof=1)),
                ]
            )
        header = ["arm", "label", "final_energy_mean", "final_energy_sd", "median_escape_step", "seeds_escaping",
                  "mass_y_gt_1_mean", "mass_y_gt_1_sd"]  # fmt: skip
        tables["escape"] = (header, rows)
        summary["plateau_gd"] = plateau
        summary["escape_threshold"] = plateau / 2
    out = args.results / name
    write_tables(out, tables)
    figures(run_dir, cfg, out)
    write_summary(out, summary)
    return summary


def exp2_notebook(args) -> dict:
    """Experiment 2 with the notebooks' settings (2020 and ICML), GD vs GD+BD vs GD+BD-μ_b."""
    summary = {}
    for name in ("exp2_2020", "exp2_icml"):
        sets = [f"run.seeds={args.seeds or 5}"]
        if args.steps:
            sets.append(f"run.steps={args.steps}")
        if args.smoke:
            sets = ["run.seeds=2", "run.steps=400", "run.chunk=200", "run.checkpoint_every=400"]
        run_dir, wall, cfg = run(name, sets, args.runs / name)
        metrics, labels = read_metrics(run_dir), labels_of(cfg)
        steps = cfg.run.steps
        checkpoints = [s for s in (100, 1000, 10000, 30000, 100000) if s <= steps]
        tables = arm_tables(
            metrics,
            labels,
            "population_energy",
            checkpoints,
            (1e-2, 3e-3, 1e-3),
            [s for s in (1000, 10000) if s < steps] or [steps // 2],
        )
        out = args.results / name
        write_tables(out, tables)
        figures(run_dir, cfg, out)
        summary[name] = {"sets": sets, "wall_seconds": wall, "steps": steps}
        write_summary(out, summary[name])
    return summary


SWEEP_HEADER = ["alpha", "n", "arm", "t_half", "energy_half_mean", "energy_half_sd", "energy_final_mean",
                "energy_final_sd", "speedup_over_gd_at_half"]  # fmt: skip


def exp2_meanfield(args) -> dict:
    """Mean-field experiment 2: sweep α at fixed n, and n at fixed α; schemes A and B against GD."""
    alphas = (0.01, 0.1, 1.0, 10.0) if not args.smoke else (0.1, 1.0)
    widths = (50, 100, 200, 500, 1000) if not args.smoke else (16, 32)
    base = ["run.seeds=2", "run.steps=200", "run.chunk=200", "run.checkpoint_every=200"] if args.smoke else []
    if args.seeds and not args.smoke:
        base.append(f"run.seeds={args.seeds}")
    fixed_n, fixed_alpha = (200, 0.1) if not args.smoke else (16, 0.1)
    out = args.results / "exp2_meanfield"
    rows, walls = [], {}
    grid = [(a, fixed_n) for a in alphas] + [(fixed_alpha, n) for n in widths if n != fixed_n]
    for alpha, n in grid:
        sets = base + [f"run.n={n}", f"arms.bd.alpha={alpha}", f"arms.rw.alpha={alpha}"]
        run_dir, wall, _ = run("exp2_meanfield_sweep", sets, args.runs / f"exp2_meanfield-a{alpha}-n{n}")
        walls[f"alpha={alpha},n={n}"] = wall
        metrics = read_metrics(run_dir)
        steps, times = metrics["gd"]["step"][0], metrics["gd"]["time"][0]
        mid = len(steps) // 2
        for arm, m in metrics.items():
            e = m["energy"]
            if e.shape[1] < len(steps):  # the arm diverged: pad with nan
                e = np.concatenate([e, np.full((e.shape[0], len(steps) - e.shape[1]), np.nan)], axis=1)
            factor, bound = speedup(metrics["gd"]["energy"], e, steps, int(steps[mid])) if arm != "gd" else (1, False)
            half, final = e[:, mid], e[:, -1]
            speed = ("> " if bound else "") + f"{factor:.2f}"
            stats = [np.mean(half), np.std(half, ddof=1), np.mean(final), np.std(final, ddof=1)]
            rows.append([alpha, n, arm, float(times[mid]), *map(float, stats), speed])
        write_tables(out, {"sweep": (SWEEP_HEADER, rows)})  # after every run: a cut sweep keeps its rows
    _plot_sweep(rows, fixed_n, fixed_alpha, out)
    summary = {"wall_seconds": walls, "fixed_n": fixed_n, "fixed_alpha": fixed_alpha, "sets": base}
    write_summary(out, summary)
    return summary


def _plot_sweep(rows, fixed_n, fixed_alpha, out: Path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    styles = {"gd": ("GD", "C0"), "bd": ("GD+BD (A)", "C1"), "rw": ("GD+reweighting (B)", "C2")}
    for arm, (label, color) in styles.items():
        by_alpha = [r for r in rows if r[2] == arm and r[1] == fixed_n]
        by_n = sorted((r for r in rows if r[2] == arm and r[0] == fixed_alpha), key=lambda r: r[1])
        for ax, sel, x in ((left, by_alpha, 0), (right, by_n, 1)):
            ax.errorbar([r[x] for r in sel], [r[6] for r in sel], yerr=[r[7] for r in sel], color=color,
                        marker="o", capsize=3, label=label)  # fmt: skip
    left.set(xscale="log", yscale="log", xlabel="α", ylabel="final energy (mean ± sd over seeds)",
             title=f"n = {fixed_n}")  # fmt: skip
    right.set(xscale="log", yscale="log", xlabel="n", title=f"α = {fixed_alpha}")
    left.legend()
    save_figure(fig, out / "sweep.png")


def fit_power_law(n: np.ndarray, energy: np.ndarray, se: np.ndarray) -> tuple[float, float]:
    """Weighted least-squares fit of E_n = E_∞ + A·n^s; returns (s, E_∞).

    For a fixed exponent s the model is linear in (E_∞, A); s is scanned on a
    fine grid and the one with the smallest χ² = Σ ((E_n - model)/se_n)² kept.
    """
    best = (np.inf, 0.0, 0.0)
    for s in np.linspace(-3.0, -0.05, 591):
        design = np.stack([np.ones_like(n), n**s], axis=1) / se[:, None]
        coef, *_ = np.linalg.lstsq(design, energy / se, rcond=None)
        chi2 = float(np.sum((design @ coef - energy / se) ** 2))
        if chi2 < best[0]:
            best = (chi2, float(s), float(coef[0]))
    return best[1], best[2]


def finite_n(args) -> dict:
    """Energy at t = 10 against n for GD and GD+BD: the gap to n → ∞ and its log–log slope."""
    widths = (50, 100, 200, 400, 800, 1600) if not args.smoke else (16, 32, 64)
    base = ["run.seeds=2", "run.steps=100", "run.chunk=100", "run.checkpoint_every=100"] if args.smoke else []
    if args.seeds and not args.smoke:
        base.append(f"run.seeds={args.seeds}")
    finals, walls = {}, {}
    for n in widths:
        run_dir, wall, _ = run("exp1_finite_n", base + [f"run.n={n}"], args.runs / f"exp1_finite_n-{n}")
        walls[n] = wall
        for arm, m in read_metrics(run_dir).items():
            finals.setdefault(arm, []).append(m["energy"][:, -1])
            t_end = float(m["time"][0, -1])
    rng = np.random.default_rng(0)
    rows, fits = [], {}
    n = np.asarray(widths, float)
    for arm, per_n in finals.items():
        means = np.array([np.mean(v) for v in per_n])
        se = np.array([np.std(v, ddof=1) / np.sqrt(v.size) for v in per_n])
        slope, e_inf = fit_power_law(n, means, se)
        boot = []
        for _ in range(200):  # bootstrap over seeds, independently for every n
            resampled = np.array([np.mean(rng.choice(v, size=v.size)) for v in per_n])
            boot.append(fit_power_law(n, resampled, se)[0])
        fits[arm] = {"slope": slope, "slope_sd": float(np.std(boot, ddof=1)), "energy_inf": e_inf}
        for k, v in zip(widths, per_n, strict=True):
            rows.append(
                [arm, k, float(np.mean(v)), float(np.std(v, ddof=1) / np.sqrt(v.size)), float(np.mean(v)) - e_inf]
            )
    out = args.results / "finite_n"
    write_tables(out, {"energy_vs_n": (["arm", "n", "energy_mean", "energy_se", "gap_to_fitted_limit"], rows)})
    _plot_finite_n(rows, fits, out)
    summary = {"fits": fits, "wall_seconds": walls, "sets": base, "t": t_end}
    write_summary(out, summary)
    return summary


def _plot_finite_n(rows, fits, out: Path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 4.2), layout="constrained")
    ax = fig.subplots()
    for i, (arm, fit) in enumerate(fits.items()):
        sel = [r for r in rows if r[0] == arm]
        n = np.array([r[1] for r in sel], float)
        gap = np.array([r[4] for r in sel])
        ax.errorbar(n, gap, yerr=[r[3] for r in sel], marker="o", ls="none", color=f"C{i}", capsize=3,
                    label=f"{arm}: slope {fit['slope']:.2f} ± {fit['slope_sd']:.2f}")  # fmt: skip
        ax.plot(n, gap[0] * (n / n[0]) ** fit["slope"], color=f"C{i}", lw=1)
    ax.set(xscale="log", yscale="log", xlabel="n", ylabel="E_n(t) − fitted E_∞(t)",
           title="finite-n gap (mean over seeds ± s.e.)")  # fmt: skip
    ax.legend()
    save_figure(fig, out / "finite_n.png")


COMMANDS = {
    "exp1-good": lambda a: exp1("good", a),
    "exp1-bad": lambda a: exp1("bad", a),
    "exp2-notebook": exp2_notebook,
    "exp2-meanfield": exp2_meanfield,
    "finite-n": finite_n,
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.paper", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=[*COMMANDS, "all"])
    parser.add_argument("--seeds", type=int, help="override the number of seeds")
    parser.add_argument("--steps", type=int, help="override the steps of experiment 2 (notebook settings)")
    parser.add_argument("--smoke", action="store_true", help="a tiny version, for tests")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the tables and figures go")
    parser.add_argument("--runs", type=Path, default=RUNS, help="where the raw run directories go")
    args = parser.parse_args(argv)
    commands = list(COMMANDS) if args.command == "all" else [args.command]
    for name in commands:
        print(f"{name}:", flush=True)
        print(json.dumps(COMMANDS[name](args), indent=1, default=float), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
