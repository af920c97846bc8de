"""Study (f): the particle schemes' splitting error against the exact flow, and its order in Δt.

π = N(0, 1), μ₀ = N(3, 1/4), "pde" rate, KDE bandwidth h = 0.5 fixed, α = 1, t = 1, n particles over seeds.
For scheme A (kill/duplicate, :func:`mfbd.birth_death`) and scheme B (weights, :func:`mfbd.reweighting`), both
Langevin transport then the reaction (Lie), the mean and variance at t against

* the continuous flow (:func:`~mfbd.problems.gaussian_laws.kde_langevin_law`, n = ∞, Δt → 0; at h = 0 it is
  the Wasserstein–Fisher–Rao flow of KL, :func:`~mfbd.problems.gaussian_laws.wfr_law`),
* the scheme's own n = ∞ law at the same Δt (:func:`~mfbd.problems.gaussian_laws.weighted_split_law` for B,
  :func:`~mfbd.problems.gaussian_laws.scheme_a_grid_law` for A): what is left is finite n.

``order.csv``: the fitted exponent p of |error| ≈ C·Δt^p (``fit_power_law`` with the Monte-Carlo standard
errors) for the particles and for the n = ∞ law.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import mfbd
from experiments.common import fit_power_law, md_table, write_rows
from experiments.sampling.common import out_dir
from mfbd.problems import gaussian, sampling
from mfbd.problems.gaussian_laws import kde_langevin_law, scheme_a_grid_law, weighted_split_law
from mfbd.simulate import init_ensemble, run_chunk

M0, V0, T, H = 3.0, 0.25, 1.0, 0.5
STEPS = (0.2, 0.1, 0.05, 0.025)


def particle_moments(scheme_name, n, seeds, dt):
    """Per seed, the (weighted) mean and variance of the particles at t = T."""
    target = gaussian(dim=1, mean=[0.0], covariance=[[1.0]], init_mean=[M0], init_covariance=[[V0]])
    make = {"A": mfbd.birth_death, "B": mfbd.reweighting}[scheme_name]
    scheme = make(sampling(target, bandwidth=H), dt, 1.0, noise=1.0)
    states, keys = init_ensemble(scheme, target, n, range(seeds), dtype="float64")
    states, _ = run_chunk(scheme, 1, round(T / dt), seeds=True)(keys, states)
    w, x = jnp.exp(states.log_weights), states.particles[..., 0]
    mean = jnp.sum(w * x, axis=1)
    return np.asarray(mean), np.asarray(jnp.sum(w * (x - mean[:, None]) ** 2, axis=1))


def split_law(scheme_name, dt):
    """The scheme's n = ∞ (mean, variance) at T with step dt."""
    if scheme_name == "A":
        return scheme_a_grid_law(dt, round(T / dt), H, m0=M0, v0=V0)[-1]
    m, C = weighted_split_law(T, round(T / dt), [M0], [[V0]], 1.0, 1.0, H)
    return np.array([m[0], C[0, 0]])


def main(smoke=False, seeds=None, out=None, n=None):
    seeds = seeds or (4 if smoke else 16)
    n = n or (200 if smoke else 2000)
    steps = STEPS[:2] if smoke else STEPS
    m, C = kde_langevin_law(T, [M0], [[V0]], 1.0, 1.0, H)
    flow = {"mean": m[0], "var": C[0, 0]}
    rows = []
    for name in ("A", "B"):
        for dt in steps:
            got = dict(zip(("mean", "var"), particle_moments(name, n, seeds, dt), strict=True))
            law = dict(zip(("mean", "var"), split_law(name, dt), strict=True))
            row = {"scheme": name, "dt": dt, "n": n, "seeds": seeds}
            for k in ("mean", "var"):
                row |= {k: float(got[k].mean()), f"{k}_se": float(got[k].std(ddof=1) / np.sqrt(seeds))}
                row |= {f"{k}_law": float(law[k]), f"{k}_flow": float(flow[k])}
                row |= {f"{k}_error": float(got[k].mean() - flow[k]), f"{k}_law_error": float(law[k] - flow[k])}
            rows.append(row)
            print(row, flush=True)
    orders = []
    for name in ("A", "B"):
        sel = [r for r in rows if r["scheme"] == name]
        dts = [r["dt"] for r in sel]
        for k in ("mean", "var"):
            fit = fit_power_law(dts, np.abs([r[f"{k}_error"] for r in sel]), [r[f"{k}_se"] for r in sel])
            law = fit_power_law(dts, np.abs([r[f"{k}_law_error"] for r in sel]))
            orders.append({"scheme": name, "moment": k, "particle_order": fit.exponent})
            orders[-1] |= {"particle_order_se": fit.exponent_se, "law_order": law.exponent, "chi2_dof": fit.chi2_dof}
    folder = out_dir("splitting_order", out)
    write_rows(folder / "errors.csv", rows)
    write_rows(folder / "order.csv", orders)
    cols = ["scheme", "dt", "mean", "mean_se", "mean_law", "mean_flow", "var", "var_se", "var_law", "var_flow"]
    text = md_table(rows, cols) + "\n\n" + md_table(orders, list(orders[0]))
    (folder / "table.md").write_text(f"t = {T}, h = {H}, α = 1, n = {n}, {seeds} seeds\n\n{text}\n")
    print(text)
