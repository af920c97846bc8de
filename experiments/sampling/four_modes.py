"""Study (c): the four-mode anisotropic mixture of the SMC-WFR study, with a bandwidth sweep.

N = 500, Δt = 0.01, 1000 steps (t = 10), all particles start in mode 1; every arm is one
jit(vmap) program over its seeds. MMD² (RBF exp(-‖x - y‖²), weighted for scheme B) and the
mean 1-D W1 against 2000 exact samples. Main arms use the published kernel exp(-0.01‖x - y‖²),
i.e. h = √50 ≈ 7.07; the sweep reruns birth-death Langevin ("pde") at other bandwidths.
Langevin runs through ``non_interacting(U)`` (the same transport ∇U, no unused O(N²) potential).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import jax
import matplotlib.pyplot as plt
import numpy as np

import mfbd
from experiments.sampling.common import ensemble, markdown_table, out_dir, write_csv
from mfbd.problems import make_target, non_interacting, sampling, sampling_observer

H_PUBLISHED = float(np.sqrt(50.0))
SWEEP = (0.3, 1.0, 3.0, "median")
PUBLISHED = {"bd_pde": (0.123, 1.32), "bd_kl": (0.153, 1.45), "reweighting_resample": (0.0052, 0.176)}


def _arms(target, dt, h):
    pde, kl = sampling(target, bandwidth=h, rate="pde"), sampling(target, bandwidth=h, rate="kl")
    plain = non_interacting(lambda x: -target.log_density(x), target.init_particles)
    return {
        "langevin": mfbd.gradient_flow(plain, dt, noise=1.0),
        "bd_pde": mfbd.birth_death(pde, dt, 1.0, noise=1.0),
        "bd_kl": mfbd.birth_death(kl, dt, 1.0, noise=1.0),
        "reweighting": mfbd.reweighting(pde, dt, 1.0, noise=1.0),
        "reweighting_resample": mfbd.reweighting(pde, dt, 1.0, noise=1.0, resample_below=0.5),
    }


def _summary(name, h, trace, seeds, sec):
    mmd2, w1 = trace["mmd2"][:, -1], trace["w1"][:, -1]
    row = {"arm": name, "bandwidth": h if isinstance(h, str) else round(h, 3), "seeds": seeds}
    row |= {"mmd2": float(mmd2.mean()), "mmd2_sd": float(mmd2.std(ddof=1)), "mmd": float(np.sqrt(mmd2).mean())}
    row |= {"w1": float(w1.mean()), "w1_sd": float(w1.std(ddof=1)), "ess_final": float(trace["ess"][:, -1].mean())}
    row |= {"published_mmd": PUBLISHED.get(name, ("", ""))[0], "published_w1": PUBLISHED.get(name, ("", ""))[1]}
    return row | {"seconds": round(sec, 1)}


def _figure(path, target, finals, t):
    """Final particles of one seed per swept bandwidth over exact samples."""
    fig, axes = plt.subplots(1, len(finals) + 1, figsize=(4 * (len(finals) + 1), 4), sharey=True)
    y = np.asarray(target.sample(jax.random.key(12345), 2000))
    axes[0].scatter(y[:, 0], y[:, 1], s=2, c="gray")
    axes[0].set_title("exact samples")
    for ax, (h, x) in zip(axes[1:], finals.items(), strict=True):
        ax.scatter(y[:, 0], y[:, 1], s=2, c="lightgray")
        ax.scatter(x[:, 0], x[:, 1], s=3)
        ax.set_title(f"BD-Langevin pde, h={h}, t={t:g}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(quick=False, seeds=None, skip=()):
    seeds = seeds or (2 if quick else 50)
    sweep_seeds = min(seeds, 10)
    n, dt, steps, every = (50, 0.01, 20, 10) if quick else (500, 0.01, 1000, 250)
    target = make_target("four_mode_mixture")
    observe = sampling_observer(target, jax.random.key(12345), 2000)
    init = target.init_particles
    rows, finals = [], {}
    for name, scheme in _arms(target, dt, H_PUBLISHED).items():
        if name in skip:
            continue
        trace, sec = ensemble(scheme, init, n, seeds, steps, every, observe)
        rows.append(_summary(name, H_PUBLISHED, trace, seeds, sec))
        print(rows[-1], flush=True)
    for h in SWEEP[:1] if quick else SWEEP:
        problem = sampling(target, bandwidth=h, rate="pde")
        scheme = mfbd.birth_death(problem, dt, 1.0, noise=1.0)
        trace, sec = ensemble(scheme, init, n, sweep_seeds, steps, every, observe)
        rows.append(_summary("bd_pde", h, trace, sweep_seeds, sec))
        print(rows[-1], flush=True)
        if "particles" in skip:
            continue
        state, _ = mfbd.simulate(jax.random.key(7), scheme, scheme.init(init(jax.random.key(8), n)), steps)
        finals[h] = np.asarray(state.particles)
    out = out_dir("four_modes")
    write_csv(out / "metrics.csv", rows)
    if finals:
        _figure(out / "particles.png", target, finals, steps * dt)
    cols = ["arm", "bandwidth", "seeds", "mmd2", "mmd2_sd", "mmd", "w1", "w1_sd", "ess_final"]
    cols += ["published_mmd", "published_w1", "seconds"]
    table = markdown_table(rows, cols)
    (out / "table.md").write_text(f"N = {n}, Δt = {dt}, {steps} steps, α = 1\n\n{table}\n")
    print(table)
