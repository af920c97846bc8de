"""Study (a): Langevin vs birth-death Langevin on a 2-D Gaussian target, over seeds.

π = N(0, Σ) with Σ = [[1, 0.6], [0.6, 2]], μ₀ = N((3, 3), I/4), n = 200, Δt = 0.01,
t ≤ 3. Errors of the mean and covariance of the particles against π's, mean ± sd
over seeds, next to those of the exact Fokker–Planck (OU) law, the n → ∞ limit of Langevin.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import jax
import matplotlib.pyplot as plt
import numpy as np

import mfbd
from experiments.sampling.common import ensemble, markdown_table, out_dir, write_csv
from mfbd.problems import gaussian, gaussian_fokker_planck_law, sampling
from mfbd.problems.sampling_metrics import moment_errors

COV = [[1.0, 0.6], [0.6, 2.0]]


def _observe(target):
    def observe(state):
        return moment_errors(state.particles, jax.nn.softmax(state.log_weights), target.mean, target.covariance)

    return observe


def main(quick=False, seeds=None):
    seeds = seeds or (2 if quick else 16)
    n, dt, steps, every = (50, 0.01, 40, 10) if quick else (200, 0.01, 300, 10)
    target = gaussian(dim=2, covariance=COV, init_mean=[3.0, 3.0])
    problem = sampling(target, bandwidth="median")
    arms = {
        "langevin": mfbd.gradient_flow(problem, dt, noise=1.0),
        "bd_langevin": mfbd.birth_death(problem, dt, 1.0, noise=1.0),
        "reweighting": mfbd.reweighting(problem, dt, 1.0, noise=1.0),
    }
    observe = _observe(target)
    rows, curves, seconds = [], {}, {}
    for name, scheme in arms.items():
        trace, seconds[name] = ensemble(scheme, problem.init_particles, n, seeds, steps, every, observe)
        curves[name] = trace
        for r, t in enumerate(trace["time"][0]):
            row = {"arm": name, "time": float(t), "seeds": seeds}
            for key in ("mean_error", "cov_error"):
                row[key] = float(trace[key][:, r].mean())
                row[key + "_sd"] = float(trace[key][:, r].std(ddof=1))
            rows.append(row)
    times = curves["langevin"]["time"][0]
    for t in times:
        m, C = gaussian_fokker_planck_law(target, float(t))
        err = {"mean_error": float(np.linalg.norm(m)), "cov_error": float(np.linalg.norm(C - target.covariance))}
        rows.append(
            {"arm": "exact_ou_law", "time": float(t), "seeds": 0, **err, "mean_error_sd": 0.0, "cov_error_sd": 0.0}
        )
    out = out_dir("gaussian")
    write_csv(out / "errors.csv", rows)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ("mean_error", "cov_error"), strict=True):
        for name in [*arms, "exact_ou_law"]:
            sel = [r for r in rows if r["arm"] == name]
            t, y = np.array([r["time"] for r in sel]), np.array([r[key] for r in sel])
            sd = np.array([r[key + "_sd"] for r in sel])
            ax.plot(t, y, label=name)
            ax.fill_between(t, y - sd, y + sd, alpha=0.2)
        ax.set(xlabel="t", ylabel=key, yscale="log")
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "errors.png", dpi=120)
    picks = [r for r in rows if any(abs(r["time"] - s) < 1e-9 for s in (0.5, 1.0, 2.0, 3.0))]
    table = markdown_table(picks, ["arm", "time", "mean_error", "mean_error_sd", "cov_error", "cov_error_sd"])
    timing = ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items())
    (out / "table.md").write_text(f"n = {n}, Δt = {dt}, {seeds} seeds; wall time {timing}\n\n{table}\n")
    print(table)
    print(timing)
