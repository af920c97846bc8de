"""Study (a): Langevin vs birth-death Langevin on a 2-D Gaussian target, over seeds and bandwidths.

π = N(0, Σ) with Σ = [[1, 0.6], [0.6, 2]], μ₀ = N((3, 3), I/4), Δt = 0.01, t ≤ 6, n ∈ ``SIZES``.
Errors of the mean and covariance of the particles against π's, mean ± sd over seeds, next to
those of the exact Fokker–Planck (OU) law, the n → ∞ limit of Langevin, and to the error
Langevin should show at finite n: ‖C_t - Σ‖ combined with the sampling error of an n-point
covariance, E‖Ĉ - C‖²_F = (‖C‖²_F + (tr C)²)/n (Wishart). ``final_covariance.csv`` splits the final
covariance error into bias (of the seed-mean covariance) and seed spread. Birth-death Langevin runs at the
median bandwidth and at fixed ``BANDWIDTHS``: the "pde" reaction pulls ρ̂ = μ * K_h towards π,
i.e. C_μ towards Σ - h²I, so its covariance is biased by O(h²).
"""

from __future__ import annotations

import jax
import numpy as np
from matplotlib.figure import Figure

import mfbd
from experiments.common import md_table, save_figure, write_rows
from experiments.sampling.common import ensemble, out_dir
from mfbd.problems import gaussian, gaussian_fokker_planck_law, sampling
from mfbd.problems.sampling_metrics import moment_errors

COV = [[1.0, 0.6], [0.6, 2.0]]
SIZES = (200, 1000)
BANDWIDTHS = (0.5, 0.25)
TIMES = (1.0, 2.0, 3.0, 6.0)


def _observe(target):
    def observe(state):
        w, x = jax.nn.softmax(state.log_weights), state.particles
        centred = x - w @ x
        cov = centred.T @ (centred * w[:, None])
        return moment_errors(x, w, target.mean, target.covariance) | {"cov": cov}

    return observe


def final_covariance(arm, h, n, trace, sigma):
    """Bias against spread of the final covariance: ‖E_seeds[C] - Σ‖_F and the rms of C - E_seeds[C]."""
    C = trace["cov"][:, -1]
    mean = C.mean(axis=0)
    row = {"arm": arm, "bandwidth": h, "n": n, "time": float(trace["time"][0, -1])}
    row |= {
        "bias": float(np.linalg.norm(mean - sigma)),
        "spread": float(np.sqrt(np.mean(np.sum((C - mean) ** 2, (1, 2))))),
    }
    row |= {"iid_spread": float(np.sqrt((np.sum(sigma**2) + np.trace(sigma) ** 2) / n))}
    return row | {f"c{i}{j}": float(mean[i, j]) for i, j in ((0, 0), (0, 1), (1, 1))}


def _arms(target, dt, bandwidths):
    median = sampling(target, bandwidth="median")
    arms = {("langevin", "-"): mfbd.gradient_flow(median.meta.transport_only, dt, noise=1.0)}
    for h in ("median", *bandwidths):
        problem = median if h == "median" else sampling(target, bandwidth=h)
        arms["bd_langevin", str(h)] = mfbd.birth_death(problem, dt, 1.0, noise=1.0)
    arms["reweighting", "median"] = mfbd.reweighting(median, dt, 1.0, noise=1.0)
    return arms


def exact_rows(target, times, n):
    """The exact OU law's errors, and Langevin's expected covariance error at n particles."""
    rows = []
    for t in times:
        m, C = gaussian_fokker_planck_law(target, float(t))
        cov = float(np.linalg.norm(C - target.covariance))
        sampling_error = (np.sum(C**2) + np.trace(C) ** 2) / n
        row = {"arm": "exact_ou_law", "bandwidth": "-", "n": n, "time": float(t), "seeds": 0}
        rows.append(row | {"mean_error": float(np.linalg.norm(m)), "mean_error_sd": 0.0, "cov_error": cov})
        rows[-1] |= {"cov_error_sd": 0.0, "cov_error_langevin_n": float(np.sqrt(cov**2 + sampling_error))}
    return rows


def main(smoke=False, seeds=None, out=None):
    seeds = seeds or (2 if smoke else 16)
    dt, steps, every = (0.01, 40, 10) if smoke else (0.01, 600, 10)
    sizes, bandwidths = ((50,), BANDWIDTHS[:1]) if smoke else (SIZES, BANDWIDTHS)
    target = gaussian(dim=2, covariance=COV, init_mean=[3.0, 3.0])
    observe = _observe(target)
    rows, seconds, covariances = [], {}, []
    for n in sizes:
        for (arm, h), scheme in _arms(target, dt, bandwidths).items():
            trace, seconds[arm, h, n], _ = ensemble(scheme, target, n, seeds, steps, every, observe)
            for r, t in enumerate(trace["time"][0]):
                row = {"arm": arm, "bandwidth": h, "n": n, "time": float(t), "seeds": seeds}
                for key in ("mean_error", "cov_error"):
                    row |= {key: float(trace[key][:, r].mean()), key + "_sd": float(trace[key][:, r].std(ddof=1))}
                rows.append(row | {"cov_error_langevin_n": ""})
            covariances.append(final_covariance(arm, h, n, trace, np.asarray(target.covariance)))
            print(arm, h, n, f"{seconds[arm, h, n]:.1f} s", covariances[-1], flush=True)
        rows += exact_rows(target, trace["time"][0], n)
    out = out_dir("gaussian", out)
    write_rows(out / "errors.csv", rows)
    write_rows(out / "final_covariance.csv", covariances)
    _figure(out / "errors.png", rows, sizes)
    picks = [r for r in rows if any(abs(r["time"] - s) < 1e-9 for s in TIMES)]
    cols = ["arm", "bandwidth", "n", "time", "mean_error", "mean_error_sd", "cov_error", "cov_error_sd"]
    table = md_table(picks, [*cols, "cov_error_langevin_n"])
    timing = ", ".join(f"{a} h={h} n={n} {v:.1f} s" for (a, h, n), v in seconds.items())
    (out / "table.md").write_text(f"Δt = {dt}, {seeds} seeds; wall time {timing}\n\n{table}\n")
    print(table)
    print(timing)


def _figure(path, rows, sizes):
    fig = Figure(figsize=(10, 4 * len(sizes)))
    axes = fig.subplots(len(sizes), 2, squeeze=False)
    for (i, n), (j, key) in ((a, b) for a in enumerate(sizes) for b in enumerate(("mean_error", "cov_error"))):
        ax = axes[i, j]
        for arm, h in dict.fromkeys((r["arm"], r["bandwidth"]) for r in rows):
            sel = [r for r in rows if (r["arm"], r["bandwidth"], r["n"]) == (arm, h, n)]
            t, y = np.array([r["time"] for r in sel]), np.array([r[key] for r in sel])
            sd = np.array([r[key + "_sd"] for r in sel])
            label = f"{arm} h={h}" if h != "-" else arm
            (line,) = ax.plot(t, y, label=label, color="k" if arm == "exact_ou_law" else None)
            ax.fill_between(t, np.maximum(y - sd, 1e-4), y + sd, color=line.get_color(), alpha=0.15)
        if key == "cov_error":
            sel = [r for r in rows if r["arm"] == "exact_ou_law" and r["n"] == n]
            floor = [r["cov_error_langevin_n"] for r in sel]
            ax.plot([r["time"] for r in sel], floor, "k:", label=f"Langevin expected at n={n}")
        ax.set(xlabel="t", ylabel=key, yscale="log", title=f"n = {n}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)
