"""The study's three figures, drawn from its CSV tables alone."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from experiments.common import read_rows, save_figure
from experiments.pde.base import ALPHA, COARSE_BINS, LOWER, SCHEMES, TIMES, UPPER, grid_at
from experiments.pde.bias import initial_bias

COLORS = dict(zip(SCHEMES, ("C0", "C1", "C2"), strict=True))


def particle_convergence(out):
    """Seed-mean |E_n - E_PDE| and n × bias against n, and E(t) of the PDE and the particles."""
    rows, slopes = read_rows(out / "particle_errors.csv"), read_rows(out / "particle_slopes.csv")
    reference, t_main = read_rows(out / "pde_reference.csv"), max(TIMES)
    fig = Figure(figsize=(16, 4.6), layout="tight")
    axes = fig.subplots(1, 3)
    for name in SCHEMES:
        sel = [r for r in rows if r["scheme"] == name and r["t"] == t_main]
        fit = next(s for s in slopes if s["scheme"] == name and s["t"] == t_main)
        n = np.array([r["n"] for r in sel], float)
        m, se = np.array([r["mean_abs_error"] for r in sel]), np.array([r["se_abs_error"] for r in sel])
        label = f"{name}: slope {fit['abs_gap_slope']:.2f} ± {fit['abs_gap_slope_se']:.2f}"
        axes[0].errorbar(n, m, 2 * se, fmt="o", color=COLORS[name], capsize=3, label=label)
        b, bse = np.array([r["bias_cv"] for r in sel]), np.array([r["se_bias_cv"] for r in sel])
        interval = f"[{fit['bias_exponent_lo']:.2f}, {fit['bias_exponent_hi']:.2f}]"
        label = f"{name}: exponent {fit['bias_exponent']:.2f} {interval}"
        shift = 1 + 0.05 * SCHEMES.index(name)
        axes[1].errorbar(n * shift, n * b, 2 * n * bse, fmt="o", color=COLORS[name], capsize=3, label=label)
    n_ref = np.array([50.0, 5000.0])
    m0 = np.mean([r["mean_abs_error"] for r in rows if r["n"] == 50 and r["t"] == t_main])
    axes[0].plot(n_ref, m0 * (n_ref / 50) ** -0.5, "k--", lw=1, label="∝ n^-1/2")
    axes[0].plot(n_ref, m0 * (n_ref / 50) ** -1.0, "k:", lw=1, label="∝ n^-1")
    axes[0].set(xscale="log", yscale="log", xlabel="n", ylabel=f"mean |E_n - E_PDE| at t = {t_main:g}")
    axes[0].set_title("seed-mean absolute gap (±2 SE)")
    axes[1].axhline(n_ref[0] * initial_bias(n_ref[0]), color="k", ls=":", lw=1, label="t = 0: 1/(2√(2π))")
    axes[1].axhline(0, color="k", lw=0.5)
    axes[1].set(xscale="log", xlabel="n", ylabel=f"n·(E[E_n] - E_PDE) at t = {t_main:g}", ylim=(-1.0, 1.0))
    axes[1].set_title("bias × n, control-variate estimate (±2 SE, clipped)")
    for alpha, style in ((0.0, "-"), (ALPHA, "--")):
        sel = [r for r in reference if r["alpha"] == alpha]
        axes[2].plot([r["t"] for r in sel], [r["E"] for r in sel], "k" + style, label=f"PDE α = {alpha:g}")
    n_max = max(r["n"] for r in rows)
    for name in SCHEMES:
        sel = [r for r in rows if r["scheme"] == name and r["n"] == n_max]
        axes[2].plot([r["t"] for r in sel], [r["mean_E_n"] for r in sel], "o", color=COLORS[name], label=name)
    axes[2].set(xlabel="t", ylabel="E", title=f"energy: PDE and particles (n = {n_max}, seed mean)")
    for ax in axes:
        ax.legend(fontsize=8)
    save_figure(fig, out / "particle_convergence.png")


def pde_checks(out):
    """Grid convergence, the dissipation identity's error against h, and the pure birth-death bound."""
    orders, diss, kl = (
        read_rows(out / "grid_orders.csv"),
        read_rows(out / "dissipation.csv"),
        read_rows(out / "kl_bound.csv"),
    )
    fig = Figure(figsize=(16, 4.4), layout="tight")
    axes = fig.subplots(1, 3)
    for r in orders:
        if r["t"] == 1.0:
            diffs = np.array([float(x) for x in str(r["successive_differences"]).split()])
            h = np.array([grid_at(k).spacing[0] for k in range(len(diffs))])
            label = f"α={r['alpha']:g} {r['limiter']}: order {r['fitted_order']:.2f}"
            axes[0].loglog(h, diffs, "o-", label=label)
    axes[0].set(xlabel="h (coarser grid of each pair)", ylabel="|E_h - E_h/2| at t = 1", title="grid convergence")
    for alpha in (0.0, ALPHA):
        for limiter in ("upwind", "van_leer"):
            sel = [r for r in diss if r["alpha"] == alpha and r["limiter"] == limiter and r["t"] == 0.5]
            axes[1].loglog([r["h"] for r in sel], [r["rel_error"] for r in sel], "o-", label=f"α={alpha:g} {limiter}")
    axes[1].set(xlabel="h (Δt ∝ h)", ylabel="relative error at t = 0.5", title="dissipation identity on the PDE")
    t = np.array([r["t"] for r in kl])
    axes[2].loglog(t, [r["gap"] for r in kl], label="E(ρ_t) - E(ν)")
    axes[2].loglog(t, [r["bound"] for r in kl], "--", label="KL(ν‖ρ₀)/(αt)")
    axes[2].set(xlabel="t", title="pure birth-death, ν = long-time solution")
    for ax in axes:
        ax.legend(fontsize=8)
    save_figure(fig, out / "pde_checks.png")


def densities(out):
    """Cell masses on the coarse bins: the PDE for α = 0 and 5 next to one seed of each particle scheme."""
    dens, t_main = read_rows(out / "densities.csv"), max(TIMES)
    n_max = max(r["n"] for r in read_rows(out / "particle_errors.csv"))
    panels = [("PDE alpha=0", "PDE, α = 0"), ("GD", "GD"), ("PDE alpha=5", f"PDE, α = {ALPHA:g}")]
    panels += [("GD+BD", "GD+BD"), ("reweighting", "reweighting")]
    fig = Figure(figsize=(3.6 * len(panels), 3.6), layout="tight")
    axes = fig.subplots(1, len(panels), sharey=True)
    extent = (LOWER[1], UPPER[1], LOWER[0], UPPER[0])
    vmax = max(max(r[key] for r in dens) for key, _ in panels)
    for ax, (key, title) in zip(axes, panels, strict=True):
        image = np.array([r[key] for r in dens]).reshape(COARSE_BINS)
        ax.imshow(image, origin="lower", extent=extent, aspect="auto", vmin=0, vmax=vmax)
        suffix = "" if key.startswith("PDE") else f", n = {n_max}, one seed"
        ax.set(title=f"{title}{suffix}", xlabel="c")
    axes[0].set_ylabel("y")
    fig.suptitle(f"cell masses on 0.5 × 0.5 bins at t = {t_main:g}")
    save_figure(fig, out / "densities.png")


def figures(out):
    particle_convergence(out)
    pde_checks(out)
    densities(out)
