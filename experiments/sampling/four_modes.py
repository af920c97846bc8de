"""Study (c): the four-mode anisotropic mixture of the SMC-WFR study, over a bandwidth sweep.

N = 500, Δt = 0.01, 1000 steps (t = 10), all particles start in mode 1; α = 1. Every arm is one
jit(vmap) program over its seeds (50 by default). Arms: Langevin, and at every bandwidth h of
``BANDWIDTHS`` birth-death Langevin with the "pde" and the "kl" rate and reweighting (scheme B)
without and with resampling (ESS < n/2). The published kernel exp(-0.01‖x - y‖²) is h = √50 ≈ 7.07.
Observables: MMD² (RBF exp(-‖x - y‖²), weighted for scheme B) and the mean of the two 1-D W1 against
2000 exact samples, every ``record_every`` steps. Langevin runs through ``non_interacting(U)`` (the
same transport ∇U, no unused O(N²) potential).
"""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

import mfbd
from experiments.common import machine_record, md_table, save_figure, write_rows
from experiments.sampling.common import ensemble, out_dir
from mfbd.problems import kde_log_density, make_target, non_interacting, sampling, sampling_observer

H_PUBLISHED = float(np.sqrt(50.0))
BANDWIDTHS = (H_PUBLISHED, 3.0, 1.0, 0.3, "median")
ARMS = ("bd_pde", "bd_kl", "reweighting", "reweighting_resample")
PUBLISHED = {"bd_pde": (0.123, 1.32), "bd_kl": (0.153, 1.45)}  # at h ≈ 7; SMC-WFR: MMD 0.0052, W1 0.176
METRICS = ("mmd2", "w1", "ess")
ALPHAS = (0.3, 0.1)  # weaker reactions at the published width (its α is not published)


def _label(h) -> str:
    return h if isinstance(h, str) else f"{h:.3g}"


def make_scheme(target, arm: str, h, dt: float, alpha: float = 1.0):
    """The scheme of one arm (``h`` is ignored by ``"langevin"``)."""
    if arm == "langevin":
        plain = non_interacting(lambda x: -target.log_density(x), target.init_particles)
        return mfbd.gradient_flow(plain, dt, noise=1.0)
    problem = sampling(target, bandwidth=h, rate="kl" if arm == "bd_kl" else "pde")
    if arm.startswith("bd_"):
        return mfbd.birth_death(problem, dt, alpha, noise=1.0)
    return mfbd.reweighting(problem, dt, alpha, noise=1.0, resample_below=0.5 if arm.endswith("resample") else None)


def _summary(arm, h, trace, seeds, sec):
    mmd2, w1 = trace["mmd2"][:, -1], trace["w1"][:, -1]
    published = PUBLISHED.get(arm, ("", "")) if h == H_PUBLISHED else ("", "")
    row = {"arm": arm, "bandwidth": "-" if h is None else _label(h), "seeds": seeds}
    row |= {"mmd2": float(mmd2.mean()), "mmd2_sd": float(mmd2.std(ddof=1)), "mmd": float(np.sqrt(mmd2).mean())}
    row |= {"w1": float(w1.mean()), "w1_sd": float(w1.std(ddof=1)), "ess_final": float(trace["ess"][:, -1].mean())}
    row |= {"finite_seeds": int(np.isfinite(mmd2).sum())}
    return row | {"published_mmd": published[0], "published_w1": published[1], "seconds": round(sec, 1)}


def exact_floor(target, observe, n, seeds):
    """The metrics of ``n`` independent exact draws of π (keys fold_in(key(1), s)) against the same reference:
    the values a perfect sampler of n particles gets (MMD²'s V-statistic is not 0 at finite n)."""
    from mfbd.schemes.base import State  # only its particles and log-weights are read

    def one(s):
        x = target.sample(jax.random.fold_in(jax.random.key(1), s), n)
        return observe(State(x, jnp.full((n,), -np.log(n), x.dtype), *([None] * 7)))

    trace = {k: np.asarray(v)[:, None] for k, v in jax.jit(jax.vmap(one))(np.arange(seeds)).items()}
    return _summary("exact_samples", None, trace | {"ess": np.full((seeds, 1), float(n))}, seeds, 0.0)


def kde_flatness(target, clouds: dict, bandwidths=BANDWIDTHS[:-1]):
    """Why the width matters: over each particle cloud, the spread (sd) of log ρ̂ against that of log π and
    the correlation of V = log ρ̂ - log π with -log π. V ≈ -log π + const turns the reaction into the
    Fisher–Rao flow of ∫U dμ (μ_t ∝ μ₀ π^{αt}), which sharpens μ onto π's highest peaks instead of spreading it."""
    rows = []
    for name, x in clouds.items():
        w = jnp.full((x.shape[0],), 1.0 / x.shape[0], x.dtype)
        log_pi = jax.vmap(target.log_density)(x)
        for h in bandwidths:
            log_rho = kde_log_density(x, x, w, h)
            corr = float(np.corrcoef(np.asarray(log_rho - log_pi), np.asarray(-log_pi))[0, 1])
            rows.append({"particles": name, "bandwidth": _label(h), "sd_log_rho": float(log_rho.std())})
            rows[-1] |= {"sd_log_pi": float(log_pi.std()), "corr_V_minus_log_pi": corr}
    return rows


def _curves(arm, h, trace):
    rows = []
    for r, t in enumerate(trace["time"][0]):
        row = {"arm": arm, "bandwidth": "-" if h is None else _label(h), "time": float(t)}
        for m in METRICS:
            row |= {m: float(trace[m][:, r].mean()), m + "_sd": float(trace[m][:, r].std(ddof=1))}
        rows.append(row)
    return rows


def _curve_figure(path, curves, bandwidths):
    """MMD² and W1 against t, seed mean ± sd, one column per bandwidth (Langevin in every column)."""
    fig = Figure(figsize=(3.6 * len(bandwidths), 6.5))
    axes = fig.subplots(2, len(bandwidths), sharey="row", squeeze=False)
    for col, h in enumerate(bandwidths):
        for arm in ("langevin", *ARMS):
            rows = [r for r in curves if r["arm"] == arm and r["bandwidth"] in ("-", _label(h))]
            t = np.array([r["time"] for r in rows])
            for row, m in enumerate(("mmd2", "w1")):
                y, sd = np.array([r[m] for r in rows]), np.array([r[m + "_sd"] for r in rows])
                ax = axes[row, col]
                (line,) = ax.plot(t, y, label=arm, color="k" if arm == "langevin" else None)
                ax.fill_between(t, np.maximum(y - sd, 1e-6), y + sd, color=line.get_color(), alpha=0.2)
                ax.set(yscale="log", xlabel="t", ylabel=m if col == 0 else None)
        axes[0, col].set_title(f"h = {_label(h)}")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)


def _particle_figure(path, target, finals, bandwidths, t):
    """Seed 0's final particles (marker area ∝ weight) over the target's density contours."""
    y = np.asarray(target.sample(jax.random.key(12345), 2000))
    lo, hi = y.min(0) - 1.0, y.max(0) + 1.0
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 300), np.linspace(lo[1], hi[1], 300))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    density = np.exp(np.asarray(jax.vmap(target.log_density)(grid))).reshape(gx.shape)
    fig = Figure(figsize=(3.2 * len(bandwidths), 3.2 * (len(ARMS) + 1)))
    axes = fig.subplots(len(ARMS) + 1, len(bandwidths), sharex=True, sharey=True, squeeze=False)
    panels = {(0, 0): ("exact samples", y, None), (0, 1): ("langevin", *finals["langevin", "-"])}
    for r, arm in enumerate(ARMS, start=1):
        for c, h in enumerate(bandwidths):
            if (arm, _label(h)) in finals:
                panels[r, c] = (f"{arm}, h = {_label(h)}", *finals[arm, _label(h)])
    for (r, c), ax in np.ndenumerate(axes):
        if (r, c) not in panels:
            ax.set_axis_off()
            continue
        ax.contour(gx, gy, density, levels=np.quantile(density, [0.9, 0.97, 0.995]), colors="0.6", linewidths=0.6)
        title, x, w = panels[r, c]
        size = 3.0 if w is None else 3.0 * len(w) * np.asarray(w)
        ax.scatter(x[:, 0], x[:, 1], s=size, alpha=0.6)
        ax.set_title(title if (r, c) == (0, 0) else f"{title}, t = {t:g}", fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=90)


def alpha_sweep(seeds=50, out=None, smoke=False):
    """BD-Langevin at the published width with the weaker reactions α in ``ALPHAS``: ``alpha_sweep.csv``."""
    n, dt, steps = (50, 0.01, 20) if smoke else (500, 0.01, 1000)
    target = make_target("four_mode_mixture")
    observe = sampling_observer(target, jax.random.key(12345), 2000)
    rows = []
    for arm in ("bd_pde", "bd_kl"):
        for alpha in ALPHAS:
            scheme = make_scheme(target, arm, H_PUBLISHED, dt, alpha)
            trace, sec, _ = ensemble(scheme, target, n, seeds, steps, steps, observe)
            rows.append({"alpha": alpha} | _summary(arm, H_PUBLISHED, trace, seeds, sec))
            print(rows[-1], flush=True)
    write_rows(out_dir("four_modes", out) / "alpha_sweep.csv", rows)
    return rows


def main(smoke=False, seeds=None, skip=(), out=None):
    seeds = seeds or (2 if smoke else 50)
    n, dt, steps, every = (50, 0.01, 20, 10) if smoke else (500, 0.01, 1000, 50)
    bandwidths = ("median",) if smoke else BANDWIDTHS
    target = make_target("four_mode_mixture")
    observe = sampling_observer(target, jax.random.key(12345), 2000)
    runs = [("langevin", None)] + [(arm, h) for h in bandwidths for arm in ARMS]
    rows, curves, finals = [exact_floor(target, observe, n, seeds)], [], {}
    for arm, h in runs:
        if arm in skip:
            continue
        scheme = make_scheme(target, arm, h, dt)
        trace, sec, states = ensemble(scheme, target, n, seeds, steps, every, observe)
        rows.append(_summary(arm, h, trace, seeds, sec))
        curves += _curves(arm, h, trace)
        weights = jax.nn.softmax(states.log_weights[0]) if arm.startswith("reweighting") else None
        finals[arm, rows[-1]["bandwidth"]] = (np.asarray(states.particles[0]), weights)
        print(rows[-1], flush=True)
    out = out_dir("four_modes", out)
    write_rows(out / "metrics.csv", rows)
    write_rows(out / "curves.csv", curves)
    if ("langevin", "-") in finals:
        start = target.init_particles(jax.random.key(8), n)
        clouds = {"start": start, "langevin_final_seed0": jnp.asarray(finals["langevin", "-"][0])}
        write_rows(out / "kde_flatness.csv", kde_flatness(target, clouds))
    _curve_figure(out / "curves.png", curves, bandwidths)
    if "langevin" in {arm for arm, _ in finals}:
        _particle_figure(out / "particles.png", target, finals, bandwidths, steps * dt)
    record = machine_record(n=n, dt=dt, steps=steps, seeds=seeds, total_seconds=sum(r["seconds"] for r in rows))
    (out / "machine.json").write_text(json.dumps(record, indent=1) + "\n")
    cols = ["arm", "bandwidth", "seeds", "mmd2", "mmd2_sd", "mmd", "w1", "w1_sd", "ess_final", "finite_seeds"]
    cols += ["published_mmd", "published_w1", "seconds"]
    table = md_table(rows, cols)
    (out / "table.md").write_text(f"N = {n}, Δt = {dt}, {steps} steps, α = 1, {seeds} seeds per arm\n\n{table}\n")
    print(table)
    if "alpha" not in skip:
        alpha_sweep(seeds, out.parent, smoke)
