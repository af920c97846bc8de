"""Study 4 (remainder): the rate bound on the particle schemes and scheme A's constant-α noise floor (experiment 1,
good start, kernel mode, float64, Δt = 0.01).

(a) **E(μ_t) − E* ≤ KL(μ*‖μ₀)/(αt)** (paper-notes §3.3) is a statement about pure birth-death. On particles with
frozen positions (``transport=False``) it is computable exactly: μ₀ is the uniform measure on the n initial units
θ_1..θ_n, the measures it can reach are the weights w on the simplex, E(w) = C_f − Σ w_i F_i + ½ wᵀKw is a convex
quadratic (K = ∇²E and F = Kw₀ − ∇E(w₀) by autodiff), E* = min over the simplex (FISTA, with its KKT
residual max_i (V̄ − V_i)_+ reported) and KL(μ*‖μ₀) = Σ w*_i log(n w*_i) for that minimiser (any minimiser gives a
valid bound; the least-KL one the tightest). The ratio (E(t) − E*)·αt/KL must stay ≤ 1. Scheme B (pure
reweighting) is mirror descent with step αΔt on exactly this problem; scheme A (pure birth-death, counts in
multiples of 1/n) is its stochastic version and is checked against the same bound seed by seed.
With transport the bound has no finite right side here: E* = 0 needs point masses the continuous μ₀ does not charge.

(b) **The noise floor**: scheme A (defaults: centred rates, exponential probabilities, rebalance) at constant α with
transport, against scheme B on the same seeds and n (deterministic: no jump noise) and the PDE's E_∞(t)
(``results/evidence/rates/curves.csv``, h = 0.2). The jump noise is E_A − E_B (paired). Prediction (a heuristic
balance, not a theorem): each kill/duplicate pair changes f_μ by (φ_i − φ_j)/n and puts in ½‖φ_i − φ_j‖²/n² of
energy; events occur at rate nα|β|, so the input is (α/2n)·∫|β| dμ·D; the reaction dissipates α∫β² dμ. If the
reaction dominates the dissipation, |β| ~ D/n and the excess ∝ β² ∝ n⁻², independent of α; if transport dominates
(rate γ), the excess ∝ (α/(γ + α))²·n⁻². Either way the slope in n is −2, not the −1 of i.i.d. sampling error.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import jax
import numpy as np

import mfbd
from experiments.common import ensemble, md_table, read_rows, write_rows
from experiments.evidence.common import RESULTS
from mfbd.simulate import init_ensemble, state_energy

PDE_CURVES = Path(__file__).resolve().parents[1] / "results" / "evidence" / "rates" / "curves.csv"
DT = 0.01


@dataclasses.dataclass(frozen=True)
class Sizes:
    kl_n: int = 200
    kl_seeds: int = 4
    kl_alpha: float = 5.0
    kl_horizon: float = 20.0
    ns: tuple = (200, 1000)
    alphas: tuple = (5.0, 20.0)
    floor_seeds: int = 4
    floor_horizon: float = 10.0
    checkpoints: tuple = (2.5, 5.0, 10.0)


FULL = Sizes()
LARGE = Sizes(
    kl_seeds=16,
    kl_horizon=30.0,
    ns=(200, 1000, 5000),
    alphas=(1.0, 5.0, 20.0),
    floor_seeds=16,
    floor_horizon=30.0,
    checkpoints=(5.0, 10.0, 20.0, 30.0),
)
SMOKE = Sizes(kl_n=20, kl_seeds=2, kl_horizon=1.0, ns=(20, 40), alphas=(5.0,), floor_seeds=2, floor_horizon=0.5,
              checkpoints=(0.5,))  # fmt: skip


def quadratic(problem, particles, n: int):
    """(C_f, F [n], K [n, n]) with E(w) = C_f − wᵀF + ½wᵀKw at the fixed ``particles``."""
    energy = lambda w: problem.energy(particles, w)  # noqa: E731
    w0 = np.full(n, 1.0 / n)  # E is quadratic: its value, gradient and Hessian at w0 give C_f, F and K
    k = np.asarray(jax.hessian(energy)(w0))
    f = k @ w0 - np.asarray(jax.grad(energy)(w0))
    return float(energy(w0)) + w0 @ f - 0.5 * w0 @ k @ w0, f, k


def project_simplex(v: np.ndarray) -> np.ndarray:
    """The Euclidean projection of ``v`` onto the simplex {w ≥ 0, Σw = 1} (sort and threshold)."""
    u = np.sort(v)[::-1]
    cumulative = np.cumsum(u) - 1.0
    k = np.flatnonzero(u - cumulative / np.arange(1, len(v) + 1) > 0)[-1]
    return np.maximum(v - cumulative[k] / (k + 1), 0.0)


def simplex_minimum(c_f, f, k, iterations: int = 20000) -> dict:
    """E* and w* = argmin over the simplex of C_f − wᵀF + ½wᵀKw (accelerated projected gradient, FISTA, step
    1/λ_max(K)), KL(w*‖uniform) and the KKT residual max_i (V̄ − V_i)_+ with V = Kw − F."""
    n = len(f)
    step = 1.0 / max(np.linalg.eigvalsh(k)[-1], 1e-300)
    w = y = np.full(n, 1.0 / n)
    momentum = 1.0
    for _ in range(iterations):
        new = project_simplex(y - step * (k @ y - f))
        following = (1 + np.sqrt(1 + 4 * momentum**2)) / 2
        y, w, momentum = new + (momentum - 1) / following * (new - w), new, following
    v = k @ w - f
    positive = w > 0
    return {"E_star": float(c_f - w @ f + 0.5 * w @ k @ w), "kl": float(np.sum(w[positive] * np.log(n * w[positive]))),
            "kkt": float(np.max(np.maximum(w @ v - v, 0.0))), "support": int(np.sum(w > 1e-8))}  # fmt: skip


def kl_bound(sizes: Sizes) -> tuple[list[dict], list[dict]]:
    problem = mfbd.problems.gaussian_mixture_1d("good")
    seeds, steps, a = list(range(sizes.kl_seeds)), int(round(sizes.kl_horizon / DT)), sizes.kl_alpha
    every = max(1, steps // 60)
    arms = {"B pure reweighting": mfbd.reweighting(problem, DT, a, transport=False),
            "A pure birth-death": mfbd.birth_death(problem, DT, a, transport=False)}  # fmt: skip
    traces, walls = {}, {}
    for name, scheme in arms.items():
        t0 = time.perf_counter()
        _, traces[name] = ensemble(scheme, problem, sizes.kl_n, seeds, steps, every, observe=state_energy(problem))
        walls[name] = time.perf_counter() - t0
    start, _ = init_ensemble(arms["B pure reweighting"], problem, sizes.kl_n, seeds)  # the same start in both arms
    units = [jax.tree.map(lambda x, s=s: x[s], start.particles) for s in range(len(seeds))]
    optima = [simplex_minimum(*quadratic(problem, u, sizes.kl_n)) for u in units]
    rows, curves = [], []
    for name, tr in traces.items():
        t, e = tr["time"][0], tr["state_energy"]
        e_star = np.array([o["E_star"] for o in optima])[:, None]
        kl = np.array([o["kl"] for o in optima])[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (e - e_star) * a * t / kl  # [S, R]; must be ≤ 1
        late = t >= 0.1 * sizes.kl_horizon
        rows.append({"arm": name, "n": sizes.kl_n, "alpha": a, "seeds": len(seeds),
                     "E_star_mean": float(e_star.mean()), "KL_mean": float(kl.mean()),
                     "kkt_max": max(o["kkt"] for o in optima),
                     "support_mean": float(np.mean([o["support"] for o in optima])),
                     "E_end_minus_E_star": float(np.mean(e[:, -1] - e_star[:, 0])),
                     "bound_end": float(np.mean(kl[:, 0]) / (a * t[-1])),
                     "max_ratio": float(np.nanmax(ratio[:, 1:])), "max_ratio_late": float(np.nanmax(ratio[:, late])),
                     "seeds_violating": int(np.sum(np.nanmax(ratio[:, 1:], axis=1) > 1)),
                     "min_gap": float(np.min(e - e_star)), "wall_s": walls[name]})  # fmt: skip
        curves += [{"arm": name, "t": float(t[r]), "gap_mean": float(np.mean(e[:, r] - e_star[:, 0])),
                    "bound_mean": float(np.mean(kl) / (a * t[r])) if t[r] > 0 else float("inf"),
                    "ratio_max": float(np.nanmax(ratio[:, r])) if r else float("nan")}
                   for r in range(len(t))]  # fmt: skip
    return rows, curves


def pde_energy(alpha: float, t: float) -> float:
    rows = [r for r in read_rows(PDE_CURVES) if float(r["h"]) == 0.2 and float(r["alpha"]) == alpha]
    return float(np.interp(t, [float(r["t"]) for r in rows], [float(r["energy"]) for r in rows])) if rows else np.nan


def noise_floor(sizes: Sizes) -> list[dict]:
    problem = mfbd.problems.gaussian_mixture_1d("good")
    steps, seeds = int(round(sizes.floor_horizon / DT)), list(range(sizes.floor_seeds))
    every = int(round(min(sizes.checkpoints) / DT / 2)) or 1
    rows = []
    for n in sizes.ns:
        for a in sizes.alphas:
            out = {}
            for name, scheme in (("A", mfbd.birth_death(problem, DT, a)), ("B", mfbd.reweighting(problem, DT, a))):
                t0 = time.perf_counter()
                _, tr = ensemble(scheme, problem, n, seeds, steps, every, observe=state_energy(problem))
                out[name] = (tr["time"][0], tr["state_energy"], time.perf_counter() - t0)
            t, e_a, wall_a = out["A"]
            _, e_b, wall_b = out["B"]
            for c in sizes.checkpoints:
                k = int(np.argmin(np.abs(t - c)))
                excess = e_a[:, k] - e_b[:, k]
                rows.append({"n": n, "alpha": a, "t": float(t[k]), "E_A": float(np.mean(e_a[:, k])),
                             "E_B": float(np.mean(e_b[:, k])), "E_pde": pde_energy(a, float(t[k])),
                             "A_minus_B": float(np.mean(excess)),
                             "A_minus_B_se": float(np.std(excess, ddof=1) / np.sqrt(len(excess))),
                             "seeds": len(seeds), "wall_A_s": wall_a, "wall_B_s": wall_b})  # fmt: skip
            print(rows[-1], flush=True)
    return rows


def slopes(rows: list[dict]) -> list[dict]:
    """The log–log slope of the jump-noise excess E_A − E_B in n (between the smallest and largest n) at each α, t."""
    out = []
    for a in sorted({r["alpha"] for r in rows}):
        for t in sorted({r["t"] for r in rows}):
            sel = sorted((r for r in rows if r["alpha"] == a and r["t"] == t), key=lambda r: r["n"])
            if len(sel) < 2 or min(r["A_minus_B"] for r in (sel[0], sel[-1])) <= 0:
                continue
            lo, hi = sel[0], sel[-1]
            slope = np.log(hi["A_minus_B"] / lo["A_minus_B"]) / np.log(hi["n"] / lo["n"])
            # ±1 SE of the log-ratio from the two excesses' standard errors (first order)
            err = np.hypot(lo["A_minus_B_se"] / lo["A_minus_B"], hi["A_minus_B_se"] / hi["A_minus_B"])
            out.append({"alpha": a, "t": t, "n_lo": lo["n"], "n_hi": hi["n"], "slope_in_n": float(slope),
                        "slope_se": float(err / np.log(hi["n"] / lo["n"]))})  # fmt: skip
    return out


def main(seeds: int = 0, smoke: bool = False, large: bool = False):
    del seeds
    sizes = SMOKE if smoke else LARGE if large else FULL
    out = RESULTS / ("particle_rates_smoke" if smoke else "particle_rates_large" if large else "particle_rates")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows, curves = kl_bound(sizes)
    write_rows(out / "kl_bound.csv", rows)
    write_rows(out / "kl_curves.csv", curves)
    (out / "kl_bound.md").write_text(md_table(rows, list(rows[0])))
    print(md_table(rows, list(rows[0])), flush=True)
    t1 = time.perf_counter()
    floor = noise_floor(sizes)
    write_rows(out / "noise_floor.csv", floor)
    fits = slopes(floor)
    text = md_table(floor, list(floor[0])) + ("\n\n" + md_table(fits, list(fits[0])) if fits else "")
    (out / "noise_floor.md").write_text(text)
    print(text)
    summary = {"sizes": dataclasses.asdict(sizes), "kl_wall_s": t1 - t0, "floor_wall_s": time.perf_counter() - t1}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary
