"""Study (b): time for the double well's basin masses to equilibrate against the barrier, with bootstrap intervals.

U(x) = x⁴ - b x² + 0.2x for b in BARRIERS; every particle starts in the right (shallower) well,
N(x₊, 1/U''(x₊)). Arms (α = 1, Δt = 0.01, n = 100): Langevin, birth-death Langevin ("pde" rate,
h = 0.15 fixed) and, for b ≤ 5, reweighting (same V, no resampling). Per arm and barrier:

* τ, the first recorded time at which the seed-mean mass left of the saddle is within ``TOL`` of its
  exact value, with a percentile interval from ``RESAMPLES`` bootstrap resamples of the seeds (a
  resample that never gets there has τ = ∞: the upper end is then "> horizon");
* the first crossing of each seed (the first record with a particle left of the saddle): its median,
  and how many seeds never crossed within the horizon (at the record resolution: a crossing undone between
  records is missed; :mod:`experiments.sampling.double_well_mechanism` records every step and tests
  τ_BD ≈ first crossing + growth at n = 100 and 1 000);
* the local slopes d log τ/dΔU between neighbouring barriers, bootstrap-paired, and one Arrhenius fit
  log τ = a + c·ΔU over the finite τ (:func:`experiments.common.fit_power_law` in x = e^{ΔU}).

Langevin runs through ``non_interacting(U)``: the same transport ∇U without the O(n²) potential it
does not use. Horizons (``HORIZONS``) are set by the CPU: Langevin's τ at b = 6, 7 (Kramers: ~10³,
~10⁵) is beyond them and reported as a lower bound.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

import mfbd
from experiments.common import fit_power_law, md_table, save_figure, write_rows
from experiments.sampling.common import ensemble, out_dir
from mfbd.problems import double_well, double_well_observer, non_interacting, sampling

BARRIERS = (2.0, 3.0, 4.0, 5.0, 6.0, 7.0)
TOL = 0.05
BANDWIDTH = 0.15
RESAMPLES = 2000
#: arm -> {b: horizon in time units}; reweighting only up to b = 5 (each step costs birth–death's).
HORIZONS = {
    "langevin": {2.0: 600.0, 3.0: 600.0, 4.0: 600.0, 5.0: 600.0, 6.0: 1000.0, 7.0: 1000.0},
    "bd_langevin": {2.0: 40.0, 3.0: 40.0, 4.0: 40.0, 5.0: 60.0, 6.0: 200.0, 7.0: 1000.0},
    "reweighting": {2.0: 40.0, 3.0: 40.0, 4.0: 40.0, 5.0: 60.0},
}


def _scheme(name, target, dt):
    if name == "langevin":
        plain = non_interacting(lambda x: -target.log_density(x), target.init_particles)
        return mfbd.gradient_flow(plain, dt, noise=1.0)
    problem = sampling(target, bandwidth=BANDWIDTH)
    make = mfbd.birth_death if name == "bd_langevin" else mfbd.reweighting
    return make(problem, dt, 1.0, noise=1.0)


def equilibration_times(times, mass, exact, tol=TOL, rng=None, resamples=RESAMPLES):
    """τ of the seed mean of ``mass`` [S, R] (first record within ``tol`` of ``exact``, inf if never) and, with
    ``rng``, the τ of ``resamples`` bootstrap resamples of the seeds."""
    mass = np.asarray(mass, float)
    stacks = mass.mean(0, keepdims=True)
    if rng is not None:
        stacks = np.concatenate([stacks, mass[rng.integers(0, len(mass), (resamples, len(mass)))].mean(1)])
    hit = np.abs(stacks - exact) <= tol
    tau = np.where(hit.any(1), np.asarray(times, float)[hit.argmax(1)], np.inf)
    return float(tau[0]), tau[1:]


def first_crossings(times, mass):
    """Per seed, the first recorded time with mass left of the saddle (inf if none)."""
    crossed = np.asarray(mass) > 0
    return np.where(crossed.any(1), np.asarray(times, float)[crossed.argmax(1)], np.inf)


def _interval(values):
    """The 95% percentile interval (inverted-CDF quantiles: an infinite τ stays an infinite end)."""
    lo, hi = np.quantile(values, [0.025, 0.975], method="inverted_cdf")
    return float(lo), float(hi)


def local_slopes(rows, boots):
    """d log τ/dΔU between neighbouring barriers per arm, with bootstrap percentile intervals (replicates paired)."""
    out = []
    for arm in dict.fromkeys(r["arm"] for r in rows):
        sel = [r for r in rows if r["arm"] == arm]
        for a, b in zip(sel, sel[1:], strict=False):
            gap = b["barrier"] - a["barrier"]
            with np.errstate(invalid="ignore", divide="ignore"):
                rep = (np.log(boots[arm, b["b"]]) - np.log(boots[arm, a["b"]])) / gap
                point = (np.log(b["tau"]) - np.log(a["tau"])) / gap
            rep = rep[~np.isnan(rep)]
            lo, hi = _interval(rep) if rep.size else (np.nan, np.nan)
            out.append({"arm": arm, "b_from": a["b"], "b_to": b["b"], "local_slope": float(point), "lo": lo, "hi": hi})
    return out


def main(smoke=False, seeds=None, out=None):
    seeds = seeds or (3 if smoke else 16)
    n, dt = (32, 0.01) if smoke else (100, 0.01)
    barriers = BARRIERS[:2] if smoke else BARRIERS
    rng = np.random.default_rng(0)
    rows, boots, curves = [], {}, {}
    for name, horizons in HORIZONS.items():
        for b in barriers:
            if b not in horizons:
                continue
            target = double_well(b=b)
            exact = target.extras["mass_left"]
            steps = round((2.0 if smoke else horizons[b]) / dt)
            every = max(1, steps // 4000)
            steps -= steps % every
            scheme, observe = _scheme(name, target, dt), double_well_observer(target)
            trace, sec, _ = ensemble(scheme, target, n, seeds, steps, every, observe)
            times, mass = trace["time"][0], trace["mass_left"]
            tau, boots[name, b] = equilibration_times(times, mass, exact, rng=rng)
            lo, hi = _interval(boots[name, b])
            cross = first_crossings(times, mass)
            curves[b, name] = (times, mass.mean(0))
            row = {"b": b, "barrier": target.extras["barrier"], "arm": name, "seeds": seeds, "n": n, "tau": tau}
            row |= {"tau_lo": lo, "tau_hi": hi, "horizon": float(times[-1]), "record_every_t": every * dt}
            row |= {"first_cross_median": float(np.median(cross)), "never_crossed": int(np.isinf(cross).sum())}
            row |= {"tau_minus_first_cross": tau - float(np.median(cross))}
            row |= {"mass_left_exact": exact, "mass_left_final": float(mass[:, -1].mean())}
            row |= {"mass_left_final_sd": float(mass[:, -1].std(ddof=1)), "seconds": round(sec, 1)}
            rows.append(row)
            print(row, flush=True)
    folder = out_dir("double_well", out)
    write_rows(folder / "tau.csv", rows)
    slopes = local_slopes(rows, boots)
    write_rows(folder / "local_slopes.csv", slopes)
    fits = []
    for name in HORIZONS:
        sel = [r for r in rows if r["arm"] == name and np.isfinite(r["tau"])]
        if len(sel) >= 3:
            se = [(r["tau_hi"] - r["tau_lo"]) / 3.92 if np.isfinite(r["tau_hi"]) else r["tau"] for r in sel]
            fit = fit_power_law(np.exp([r["barrier"] for r in sel]), [r["tau"] for r in sel], np.maximum(se, 1e-3))
            fits.append({"arm": name, "barriers": len(sel), "slope_c": fit.exponent, "slope_se": fit.exponent_se})
    write_rows(folder / "fit.csv", fits, ["arm", "barriers", "slope_c", "slope_se"])
    _figure(folder / "tau.png", rows, curves)
    cols = ["b", "barrier", "arm", "tau", "tau_lo", "tau_hi", "horizon", "first_cross_median", "never_crossed"]
    cols += ["tau_minus_first_cross", "mass_left_exact", "mass_left_final", "seconds"]
    text = md_table(rows, cols) + "\n\n" + md_table(slopes, ["arm", "b_from", "b_to", "local_slope", "lo", "hi"])
    text += "\n\n" + md_table(fits, ["arm", "barriers", "slope_c", "slope_se"]) if fits else ""
    head = f"n = {n}, Δt = {dt}, {seeds} seeds, h = {BANDWIDTH}, α = 1, {RESAMPLES} bootstrap resamples, 95% intervals"
    (folder / "table.md").write_text(f"{head}\n\n{text}\n")
    print(text)


def _figure(path, rows, curves):
    fig = Figure(figsize=(11, 4))
    axes = fig.subplots(1, 2)
    for (b, name), (t, m) in curves.items():
        axes[0].plot(t, m, label=f"{name} b={b:g}", ls={"langevin": "-", "bd_langevin": "--"}.get(name, ":"))
    axes[0].set(xscale="log", xlabel="t", ylabel="mass left of the saddle (seed mean)")
    axes[0].legend(fontsize=6)
    for name in HORIZONS:
        sel = [r for r in rows if r["arm"] == name and np.isfinite(r["tau"])]
        if sel:
            x, y = [r["barrier"] for r in sel], np.array([r["tau"] for r in sel])
            err = [y - [r["tau_lo"] for r in sel], np.minimum([r["tau_hi"] for r in sel], 10 * y) - y]
            axes[1].errorbar(x, y, yerr=err, fmt="o-", capsize=3, label=name)
    axes[1].set(yscale="log", xlabel="barrier ΔU (from the right well)", ylabel=f"τ (mass within {TOL}), 95% bootstrap")
    axes[1].legend()
    fig.tight_layout()
    save_figure(fig, path)
