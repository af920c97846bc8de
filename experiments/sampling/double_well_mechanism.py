"""Study (b2): the double well's mechanism at n = 100 and 1 000, a start in both wells, and the self-term test.

U(x) = x⁴ - b x² + 0.2x, Δt = 0.01, h = 0.15, α = 1, 16 seeds (the runner's seeding), records at every
step (so a crossing, or the mass reaching its value, is resolved to Δt; τ's bootstrap reads a thinned
copy of at most ``MAX_RECORDS`` records). Three parts (``part=``):

* ``"growth"``: every particle starts in the right well. The mechanism to test is
  τ_BD ≈ T₁(n) + G(n): wait for the first crossing T₁ among n Langevin particles (≈ τ_Langevin/n),
  then grow the left mass at rate α. Two growth terms are compared with the measured τ_BD - T₁:
  log(n)/α (the issue's) and the Fisher–Rao value G_FR = log((logit m* - logit(1/n))/(logit m* -
  logit(m* - tol)))/α, the time for logit m_t = logit m* + e^{-αt}(logit m₀ - logit m*) (the exact flow
  of the two basin masses when μ has π's shape in each well) to come within ``TOL`` from m₀ = 1/n.
  Between n = 100 and 1 000 the first predicts a shift of log 10 = 2.30, the second of ~0.4.
* ``"both"``: half the particles in each well (m₀ = ½; each half N(x_k, 1/U''(x_k))). Equilibration is
  again the left mass within ``TOL`` of its exact value m*; Langevin needs crossings for it, birth–death
  moves mass between the wells without any, and the same logit law from m₀ = ½ predicts τ_FR,
  independent of the barrier.
* ``"loo"``: b = 7, birth–death with the standard density estimate and with ``leave_one_out=True`` on the
  same seeds: seeds that never put a particle past the saddle (Fisher's exact test), and the rate
  β = V - V̄ of the leading (leftmost) particle with and without its own kernel w K_h(0), binned by its
  height above the right well.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import logit
from scipy.stats import fisher_exact

import mfbd
from experiments.common import md_table, write_rows
from experiments.sampling.common import ensemble, out_dir
from experiments.sampling.double_well import BANDWIDTH, TOL, _interval, equilibration_times, first_crossings
from mfbd.problems import double_well, double_well_observer, non_interacting, sampling

DT = 0.01
MAX_RECORDS = 4000
CHUNK = 1000
RESAMPLES = 2000
#: part -> [(n, b, arm, horizon)]. The horizon is a cap: the "growth" and "both" arms stop after the first chunk
#: of ``CHUNK`` steps in which, at one record, every seed's mass is within ``TOL`` of m* (then every bootstrap
#: resample of the seeds has reached it, so τ, its interval and the first crossings are those of the capped run).
PLAN = {
    "growth": [
        (n, b, arm, horizon)
        for n in (100, 1000)
        for b, lan, bd in (
            (3.0, 60.0, 20.0 if n == 100 else 10.0),
            (4.0, 200.0, 20.0 if n == 100 else 10.0),
            (5.0, 600.0, 40.0 if n == 100 else 20.0),
            (6.0, 5000.0, 200.0),
            (7.0, 1000.0, 1000.0),
        )
        for arm, horizon in (("langevin", lan), ("bd_langevin", bd))
    ],
    "both": [(n, b, "langevin", h) for n in (100, 1000) for b, h in ((3.0, 60.0), (5.0, 600.0), (7.0, 1000.0))]
    + [(n, b, "bd_langevin", 10.0 if n == 100 else 5.0) for n in (100, 1000) for b in (3.0, 5.0, 7.0)],
    "loo": [(100, 7.0, arm, 1000.0) for arm in ("bd_langevin", "bd_langevin_loo")],
}
HEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0 + 1e-9, np.inf)  # the leader's height above x₊ in units of ΔU; ∞: past the saddle


def both_wells(target):
    """The target with the start N(x₋, 1/U''(x₋)) for the first n//2 particles and N(x₊, 1/U''(x₊)) for the rest."""
    b, wells = target.params["b"], jnp.asarray(target.extras["wells"])

    def init(key, n):
        centre = jnp.where(jnp.arange(n) < n // 2, wells[0], wells[1])
        return (centre + jax.random.normal(key, (n,)) / jnp.sqrt(12 * centre**2 - 2 * b))[:, None]

    return dataclasses.replace(target, init_particles=init)


def fr_time(m0, exact, tol=TOL, alpha=1.0):
    """The time for logit m_t = logit m* + e^{-αt}(logit m₀ - logit m*) to come within ``tol`` of m* (from below)."""
    return float(np.log((logit(exact) - logit(m0)) / (logit(exact) - logit(exact - tol))) / alpha)


def climber_observer(target, bandwidth=BANDWIDTH):
    """``state -> {mass_left, x_lead, beta_self, beta_loo}``: the leftmost particle and its rate β_i = V_i - Σ_j w_j V_j
    (V = log ρ̂ + U, "pde") with ρ̂ the standard estimate (own kernel included) and the leave-one-out one."""
    masses = double_well_observer(target)
    h2 = bandwidth**2

    def observe(state):
        x, w = state.particles[:, 0], jax.nn.softmax(state.log_weights)
        kernel = jnp.exp(-0.5 * (x[:, None] - x[None, :]) ** 2 / h2) / jnp.sqrt(2 * jnp.pi * h2)
        rho = kernel @ w
        rho_loo = jnp.maximum(rho - w * kernel[0, 0], 1e-300) / (1 - w)
        u = -jax.vmap(target.log_density)(state.particles)
        lead = jnp.argmin(x)

        def beta(r):
            v = jnp.log(r) + u
            return v[lead] - w @ v

        return masses(state) | {"x_lead": x[lead], "beta_self": beta(rho), "beta_loo": beta(rho_loo)}

    return observe


def _scheme(arm, target):
    if arm == "langevin":
        plain = non_interacting(lambda x: -target.log_density(x), target.init_particles)
        return mfbd.gradient_flow(plain, DT, noise=1.0)
    problem = sampling(target, bandwidth=BANDWIDTH, leave_one_out=arm.endswith("_loo"))
    return mfbd.birth_death(problem, DT, 1.0, noise=1.0)


def _median_interval(values, rng):
    boot = np.median(values[rng.integers(0, len(values), (RESAMPLES, len(values)))], axis=1)
    return (float(np.median(values)), *_interval(boot))


def run_arm(part, n, b, arm, horizon, seeds, rng):
    """One (n, b, arm): its row (τ with interval, first crossings) and the τ bootstrap, ``(row, boot, trace)``."""
    target = double_well(b=b)
    target = both_wells(target) if part == "both" else target
    exact = target.extras["mass_left"]
    observe = climber_observer(target) if part == "loo" else double_well_observer(target)
    steps = round(horizon / DT)

    def settled(chunk):
        """Whether at one record of the chunk every seed's mass is within ``TOL`` of m* (then stop)."""
        close = np.all(np.abs(chunk["mass_left"] - exact) <= TOL, axis=0)
        print(f"  {arm} n={n} b={b}: t = {chunk['time'][0, -1]:.0f}, every seed settled: {close.any()}", flush=True)
        return bool(close.any())

    stop = None if part == "loo" else settled  # "loo" reads its climbers to the horizon
    trace, sec, _ = ensemble(_scheme(arm, target), target, n, seeds, steps, 1, observe, chunk=CHUNK, stop=stop)
    times, mass = trace["time"][0], trace["mass_left"]
    thin = max(1, steps // MAX_RECORDS)  # from the cap, so a stopped run reads the records the full one would
    tau, boot = equilibration_times(times[thin - 1 :: thin], mass[:, thin - 1 :: thin], exact, rng=rng)
    cross = first_crossings(times, mass)
    row = {"part": part, "n": n, "b": b, "barrier": target.extras["barrier"], "arm": arm, "seeds": seeds}
    row |= {"tau": tau, **dict(zip(("tau_lo", "tau_hi"), _interval(boot), strict=True)), "horizon": horizon}
    med = _median_interval(cross, rng)
    row |= dict(zip(("first_cross_median", "first_cross_lo", "first_cross_hi"), med, strict=True))
    row |= {"never_crossed": int(np.isinf(cross).sum()), "mass_left_exact": exact}
    row |= {"t_end": float(times[-1]), "mass_left_final": float(mass[:, -1].mean()), "tau_record_t": thin * DT}
    row |= {"seconds": round(sec, 1)}
    print(row, flush=True)
    return row, boot, cross, trace


def growth_rows(rows, boots, crosses, rng):
    """Per (n, b): τ_BD against T₁ (Langevin's median first crossing) + log(n)/α and + G_FR, with intervals."""
    out = []
    for r in (r for r in rows if r["arm"] == "bd_langevin"):
        key, lan = (r["n"], r["b"]), next(x for x in rows if (x["n"], x["b"], x["arm"]) == (r["n"], r["b"], "langevin"))
        t1 = crosses[(*key, "langevin")]
        t1_boot = np.median(t1[rng.integers(0, len(t1), (RESAMPLES, len(t1)))], axis=1)
        resid = boots[(*key, "bd_langevin")] - t1_boot
        g_fr = fr_time(1 / r["n"], r["mass_left_exact"])
        row = {"n": r["n"], "b": r["b"], "barrier": r["barrier"], "tau_bd": r["tau"], "tau_bd_lo": r["tau_lo"]}
        row |= {"tau_bd_hi": r["tau_hi"], "tau_langevin": lan["tau"], "tau_langevin_over_n": lan["tau"] / r["n"]}
        row |= {"T1_langevin": lan["first_cross_median"], "T1_lo": lan["first_cross_lo"]}
        row |= {"T1_hi": lan["first_cross_hi"]}
        row |= {"T1_bd": r["first_cross_median"], "growth": r["tau"] - lan["first_cross_median"]}
        row |= dict(zip(("growth_lo", "growth_hi"), _interval(resid), strict=True))
        row |= {"log_n": float(np.log(r["n"])), "G_FR": g_fr}
        out.append((row, resid))
    shifts = []
    for row, resid in out:
        big = next((x for x in out if x[0]["b"] == row["b"] and x[0]["n"] == 1000), None)
        if row["n"] == 100 and big is not None:
            d = big[1] - resid
            shift = {"b": row["b"], "growth_shift": big[0]["growth"] - row["growth"]}
            shift |= dict(zip(("shift_lo", "shift_hi"), _interval(d), strict=True))
            shift |= {"log10_prediction": float(np.log(10)), "FR_prediction": big[0]["G_FR"] - row["G_FR"]}
            shifts.append(shift)
    return [row for row, _ in out], shifts


def loo_rows(rows, traces, target):
    """Never-crossed counts with Fisher's exact test, and the leading climber's β binned by height (median, count)."""
    std, loo = (next(r for r in rows if r["arm"] == a) for a in ("bd_langevin", "bd_langevin_loo"))
    seeds = std["seeds"]
    table = [[std["never_crossed"], seeds - std["never_crossed"]], [loo["never_crossed"], seeds - loo["never_crossed"]]]
    test = {"never_std": std["never_crossed"], "never_loo": loo["never_crossed"], "seeds": seeds}
    test |= {"fisher_p": float(fisher_exact(table)[1])}
    right, saddle = target.extras["wells"][1], target.extras["saddle"]
    b, tilt = target.params["b"], target.params["tilt"]

    def U(x):
        return x**4 - b * x**2 + tilt * x

    bins = []
    for arm, trace in traces.items():
        x = trace["x_lead"]
        height = np.where(x < right, (U(x) - U(right)) / target.extras["barrier"], 0.0)
        test[f"{arm}_max_height"] = float(height[x > saddle].max())
        test[f"{arm}_above_half"] = float(np.mean((height >= 0.5) & (x > saddle)))
        for lo, hi in zip(HEIGHTS, HEIGHTS[1:], strict=False):
            sel = (x <= saddle) if hi == np.inf else (height >= lo) & (height < hi) & (x > saddle)
            row = {"arm": arm, "height_from": lo, "height_to": hi, "records": int(sel.sum())}
            medians = {k: float(np.median(trace[k][sel])) if sel.any() else np.nan for k in ("beta_self", "beta_loo")}
            bins.append(row | medians)
    return test, bins


def main(smoke=False, seeds=None, out=None, part="all"):
    seeds = seeds or (3 if smoke else 16)
    parts = tuple(PLAN) if part == "all" else (part,)
    folder = out_dir("double_well_mechanism", out)
    rng = np.random.default_rng(0)
    for name in parts:
        plan = PLAN[name]
        if smoke:  # the arms at the first (n, b), with n = 32 and t = 0.5
            plan = [(32, b, arm, 0.5) for n, b, arm, _ in plan if (n, b) == plan[0][:2]]
        rows, boots, crosses, traces = [], {}, {}, {}
        for n, b, arm, horizon in plan:
            row, boots[n, b, arm], crosses[n, b, arm], trace = run_arm(name, n, b, arm, horizon, seeds, rng)
            rows.append(row)
            if name == "loo":
                traces[arm] = {k: v for k, v in trace.items() if k != "time"}
        write_rows(folder / f"{name}.csv", rows)
        cols = ["n", "b", "barrier", "arm", "tau", "tau_lo", "tau_hi", "horizon", "first_cross_median"]
        cols += ["first_cross_lo", "first_cross_hi", "never_crossed", "mass_left_exact", "t_end", "mass_left_final"]
        cols += ["seconds"]
        text = md_table(rows, cols)
        if name == "growth":
            mech, shifts = growth_rows(rows, boots, crosses, rng)
            write_rows(folder / "growth_mechanism.csv", mech)
            if shifts:
                write_rows(folder / "growth_shift.csv", shifts)
            text += "\n\n" + md_table(mech, list(mech[0]))
            text += "\n\n" + md_table(shifts, list(shifts[0])) if shifts else ""
        if name == "both":
            fr = [{"b": b, "tau_FR": fr_time(0.5, double_well(b=b).extras["mass_left"])} for b in (3.0, 5.0, 7.0)]
            text += "\n\n" + md_table(fr, ["b", "tau_FR"])
        if name == "loo":
            test, bins = loo_rows(rows, traces, double_well(b=plan[0][1]))
            write_rows(folder / "loo_climber.csv", bins)
            text += "\n\n" + md_table([test], list(test)) + "\n\n" + md_table(bins, list(bins[0]))
        head = f"{name}: Δt = {DT}, {seeds} seeds, h = {BANDWIDTH}, α = 1, tol = {TOL}, {RESAMPLES} bootstrap resamples"
        (folder / f"{name}.md").write_text(f"{head}\n\n{text}\n")
        print(text, flush=True)
