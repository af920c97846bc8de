"""Study (b): time for the basin masses of the double well to equilibrate, against the barrier.

U(x) = x⁴ - b x² + 0.2x for b in BARRIERS; every particle starts in the right (shallower)
well, N(x₊, 1/U''(x₊)). Arms (α = 1, Δt = 0.01, n = 100): Langevin, birth-death Langevin
("pde" rate, h = 0.15 fixed), reweighting (same V, no resampling). τ is the first recorded
time at which the seed-averaged mass left of the saddle is within ``TOL`` of its exact value;
the fit is log τ = a + c·ΔU with ΔU the barrier seen from the right well (Arrhenius: c ≈ 1
for Langevin). Langevin runs through ``non_interacting(U)``: the same transport field ∇U,
without the O(n²) potential that plain Langevin does not use.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import mfbd
from experiments.common import md_table, write_rows
from experiments.sampling.common import ensemble, fit_line, out_dir
from mfbd.problems import double_well, double_well_observer, non_interacting, sampling

BARRIERS = (2.0, 3.0, 4.0, 5.0)
TOL = 0.05
BANDWIDTH = 0.15


def _arms(target, dt):
    problem = sampling(target, bandwidth=BANDWIDTH)
    plain = non_interacting(lambda x: -target.log_density(x), target.init_particles)
    return {
        "langevin": (mfbd.gradient_flow(plain, dt, noise=1.0), problem.init_particles),
        "bd_langevin": (mfbd.birth_death(problem, dt, 1.0, noise=1.0), problem.init_particles),
        "reweighting": (mfbd.reweighting(problem, dt, 1.0, noise=1.0), problem.init_particles),
    }


def equilibration_time(times, mass, exact, tol=TOL):
    """First time with |seed-mean mass - exact| ≤ tol (inf if never)."""
    hit = np.nonzero(np.abs(mass.mean(axis=0) - exact) <= tol)[0]
    return float(times[hit[0]]) if hit.size else float("inf")


def main(quick=False, seeds=None):
    seeds = seeds or (2 if quick else 8)
    n, dt = (32, 0.01) if quick else (100, 0.01)
    horizon = {"langevin": 2.0 if quick else 600.0, "bd_langevin": 1.0 if quick else 40.0}
    horizon["reweighting"] = horizon["bd_langevin"]
    rows, curves, seconds = [], {}, {}
    for b in BARRIERS[:2] if quick else BARRIERS:
        target = double_well(b=b)
        exact = target.extras["mass_left"]
        for name, (scheme, init) in _arms(target, dt).items():
            steps = round(horizon[name] / dt)
            every = max(1, steps // 300)
            steps -= steps % every
            trace, sec, _ = ensemble(scheme, init, n, seeds, steps, every, double_well_observer(target))
            seconds[(b, name)] = sec
            times = trace["time"][0]
            tau = equilibration_time(times, trace["mass_left"], exact)
            curves[(b, name)] = (times, trace["mass_left"].mean(0))
            final = trace["mass_left"][:, -1]
            row = {"b": b, "barrier": target.extras["barrier"], "arm": name, "tau": tau, "horizon": horizon[name]}
            row |= {"mass_left_exact": exact, "mass_left_final": float(final.mean())}
            row |= {"mass_left_final_sd": float(final.std(ddof=1)), "seeds": seeds, "n": n, "seconds": sec}
            rows.append(row)
            print(row, flush=True)
    out = out_dir("double_well")
    write_rows(out / "tau.csv", rows)
    fits = []
    for name in ("langevin", "bd_langevin", "reweighting"):
        sel = [r for r in rows if r["arm"] == name]
        slope, intercept = fit_line([r["barrier"] for r in sel], np.log([r["tau"] for r in sel]))
        fits.append({"arm": name, "slope_c": slope, "prefactor_exp_a": float(np.exp(intercept))})
    write_rows(out / "fit.csv", fits)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for (b, name), (t, m) in curves.items():
        axes[0].plot(t, m, label=f"{name} b={b:g}", ls={"langevin": "-", "bd_langevin": "--"}.get(name, ":"))
    axes[0].set(xscale="log", xlabel="t", ylabel="mass left of the saddle (seed mean)")
    axes[0].legend(fontsize=6)
    for name in ("langevin", "bd_langevin", "reweighting"):
        sel = [r for r in rows if r["arm"] == name]
        axes[1].plot([r["barrier"] for r in sel], [r["tau"] for r in sel], "o-", label=name)
    axes[1].set(yscale="log", xlabel="barrier ΔU (from the right well)", ylabel=f"τ (mass within {TOL})")
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(out / "tau.png", dpi=120)
    cols = ["b", "barrier", "arm", "tau", "mass_left_exact", "mass_left_final", "mass_left_final_sd", "seconds"]
    text = md_table(rows, cols) + "\n\n" + md_table(fits, ["arm", "slope_c", "prefactor_exp_a"])
    (out / "table.md").write_text(f"n = {n}, Δt = {dt}, {seeds} seeds, h = {BANDWIDTH}, α = 1\n\n{text}\n")
    print(text)
