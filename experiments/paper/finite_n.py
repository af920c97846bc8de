"""Experiment 1 at fixed time t = 10 against the width n: the gap E_n(t) - E_∞(t) and its log–log slope.

The fit is E_n = E_∞ + A·n^s by weighted least squares (weights 1/se², se the standard error over seeds),
s scanned over [-3, -0.05]; the spread of s comes from a bootstrap over seeds, independently for every n.
The widths are the ``[sweep]`` table of the bundled ``exp1_finite_n`` (one program per n).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from experiments.common import fit_power_law, save_figure
from experiments.paper.runs import seed_sets, write_summary, write_tables
from experiments.paper.sweep import run_sweep

SMOKE_WIDTHS = (16, 32, 64)
SMOKE = dict(steps=100, n=min(SMOKE_WIDTHS), seeds=2)
EXPONENTS = np.linspace(-3.0, -0.05, 591)
BOOTSTRAP = 200


def fit_finite_n(n: np.ndarray, energy: np.ndarray, se: np.ndarray) -> tuple[float, float]:
    """Weighted least-squares fit of E_n = E_∞ + A·n^s over s ∈ [-3, -0.05]; returns (s, E_∞)."""
    fit = fit_power_law(n, energy, se, offset=True, exponents=EXPONENTS)
    return fit.exponent, fit.offset


def finite_n(args) -> dict:
    """Energy at t = 10 against n for GD and GD+BD: the gap to n → ∞ and its log–log slope."""
    sets = [f"sweep.run.n={list(SMOKE_WIDTHS)}"] if args.smoke else []
    points, wall = run_sweep("exp1_finite_n", args, sets, args.runs / "exp1_finite_n", **SMOKE)
    finals, walls, widths = {}, {"sweep": wall}, []
    for point in sorted(points, key=lambda p: int(p["values"]["run.n"])):
        widths.append(int(point["values"]["run.n"]))
        for arm, m in point["metrics"].items():
            finals.setdefault(arm, []).append(m["energy"][:, -1])
            t_end = float(m["time"][0, -1])
    rng = np.random.default_rng(0)
    rows, fits = [], {}
    n = np.asarray(widths, float)
    for arm, per_n in finals.items():
        means = np.array([np.mean(v) for v in per_n])
        se = np.array([np.std(v, ddof=1) / np.sqrt(v.size) for v in per_n])
        slope, e_inf = fit_finite_n(n, means, se)
        boot = []
        for _ in range(BOOTSTRAP):  # bootstrap over seeds, independently for every n
            resampled = np.array([np.mean(rng.choice(v, size=v.size)) for v in per_n])
            boot.append(fit_finite_n(n, resampled, se)[0])
        fits[arm] = {"slope": slope, "slope_sd": float(np.std(boot, ddof=1)), "energy_inf": e_inf}
        for k, v in zip(widths, per_n, strict=True):
            mean, k_se = float(np.mean(v)), float(np.std(v, ddof=1) / np.sqrt(v.size))
            rows.append(
                {"arm": arm, "n": k, "energy_mean": mean, "energy_se": k_se, "gap_to_fitted_limit": mean - e_inf}
            )
    out = args.results / "finite_n"
    write_tables(out, {"energy_vs_n": rows})
    plot_finite_n(rows, fits, out)
    summary = {"fits": fits, "wall_seconds": walls, "sets": seed_sets(args), "smoke": args.smoke, "t": t_end}
    write_summary(out, summary)
    return summary


def plot_finite_n(rows, fits, out: Path):
    """The gap to the fitted limit against n on log–log axes, with the fitted slope per arm."""
    fig = Figure(figsize=(5.5, 4.2), layout="constrained")
    ax = fig.subplots()
    for i, (arm, fit) in enumerate(fits.items()):
        sel = [r for r in rows if r["arm"] == arm]
        n = np.array([r["n"] for r in sel], float)
        gap = np.array([r["gap_to_fitted_limit"] for r in sel])
        ax.errorbar(n, gap, yerr=[r["energy_se"] for r in sel], marker="o", ls="none", color=f"C{i}", capsize=3,
                    label=f"{arm}: slope {fit['slope']:.2f} ± {fit['slope_sd']:.2f}")  # fmt: skip
        ax.plot(n, gap[0] * (n / n[0]) ** fit["slope"], color=f"C{i}", lw=1)
    ax.set(xscale="log", yscale="log", xlabel="n", ylabel="E_n(t) − fitted E_∞(t)",
           title="finite-n gap (mean over seeds ± s.e.)")  # fmt: skip
    ax.legend()
    save_figure(fig, out / "finite_n.png")
