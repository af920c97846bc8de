"""Study (e): the stationary covariance of birth–death Langevin on the 2-D Gaussian, n × h, against the mean-field law.

π = N(0, Σ), Σ = [[1, 0.6], [0.6, 2]] (study (a)); scheme A, "pde" rate, α = 1, Δt = 0.01, started at
N(0, Σ), run to t = 2 (burn-in), then the covariance of the particles averaged over records in t ∈ (2, 4],
per seed. The bias of the seed-mean covariance C̄ against Σ splits into

* the smoothing part C*(h) - Σ, with C*(h) the n = ∞ stationary covariance of the KDE reaction
  (:func:`mfbd.problems.gaussian_laws.kde_stationary_covariance`): the reaction drives ρ̂ = μ * K_h to π;
* the finite-n part C̄ - C*(h) (within its Monte-Carlo error, ``se``, the sd over seeds over √seeds,
  Frobenius), which includes the O(Δt) time discretisation (Langevin's row shows Euler–Maruyama's);

with ``leave_one_out`` the density estimate drops the particle's own kernel w_i K_h(0).
"""

from __future__ import annotations

import numpy as np

import mfbd
from experiments.common import md_table, write_rows
from experiments.sampling.common import out_dir
from mfbd.problems import gaussian, sampling
from mfbd.problems.gaussian_laws import kde_stationary_covariance
from mfbd.simulate import init_ensemble, run_chunk

COV = np.array([[1.0, 0.6], [0.6, 2.0]])
SIZES = (100, 1000)
BANDWIDTHS = (0.5, 0.25)
DT, BURN, AVERAGE, EVERY = 0.01, 200, 200, 10


def _covariance(state):
    x = state.particles
    u = x - x.mean(0)
    return {"cov": u.T @ u / x.shape[0]}


def stationary_covariance(scheme, target, n, seeds):
    """``[seeds, 2, 2]`` covariances averaged over the records after the burn-in."""
    states, keys = init_ensemble(scheme, target, n, range(seeds))
    states, _ = run_chunk(scheme, 1, BURN, lambda s: {}, seeds=True)(keys, states)
    _, trace = run_chunk(scheme, AVERAGE // EVERY, EVERY, _covariance, seeds=True)(keys, states)
    return np.asarray(trace["cov"]).mean(axis=1)


def main(smoke=False, seeds=None, out=None):
    seeds = seeds or (2 if smoke else 8)
    sizes, bandwidths = ((50,), (0.5,)) if smoke else (SIZES, BANDWIDTHS)
    target = gaussian(dim=2, covariance=COV, init_mean=[0.0, 0.0], init_covariance=COV)
    rows = []
    arms = [("langevin", None, False, n) for n in sizes[-1:]]
    arms += [("bd", h, loo, n) for h in bandwidths for loo in (False, True) for n in sizes]
    for arm, h, loo, n in arms:
        if arm == "langevin":
            scheme = mfbd.gradient_flow(sampling(target, bandwidth=1.0).meta.transport_only, DT, noise=1.0)
            limit = COV
        else:
            scheme = mfbd.birth_death(sampling(target, bandwidth=h, leave_one_out=loo), DT, 1.0, noise=1.0)
            limit = kde_stationary_covariance(COV, 1.0, h)
        C = stationary_covariance(scheme, target, n, seeds)
        mean = C.mean(0)
        se = float(np.sqrt(np.sum(C.var(0, ddof=1))) / np.sqrt(seeds))
        row = {"arm": arm, "h": h or "-", "leave_one_out": loo, "n": n, "seeds": seeds}
        row |= {f"c{i}{j}": float(mean[i, j]) for i, j in ((0, 0), (0, 1), (1, 1))}
        row |= {f"meanfield_c{i}{j}": float(limit[i, j]) for i, j in ((0, 0), (0, 1), (1, 1))}
        row |= {"total_bias": float(np.linalg.norm(mean - COV)), "smoothing_bias": float(np.linalg.norm(limit - COV))}
        row |= {"finite_n_bias": float(np.linalg.norm(mean - limit)), "se": se}
        rows.append(row)
        print(row, flush=True)
    folder = out_dir("covariance_bias", out)
    write_rows(folder / "table.csv", rows)
    cols = ["arm", "h", "leave_one_out", "n", "c00", "c01", "c11", "meanfield_c00", "meanfield_c01", "meanfield_c11"]
    cols += ["total_bias", "smoothing_bias", "finite_n_bias", "se"]
    text = f"Δt = {DT}, α = 1, {seeds} seeds, covariance averaged over t ∈ (2, 4]\n\n{md_table(rows, cols)}\n"
    (folder / "table.md").write_text(text)
    print(text)
