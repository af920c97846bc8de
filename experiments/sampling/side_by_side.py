"""Study (g): Langevin, birth–death Langevin and an SMC-WFR-style sampler at equal time and at equal cost.

Cases (settings of the SMC-WFR benchmark where it publishes them; all particles from μ₀):

* ``banana`` (:func:`mfbd.problems.banana`): N = 300, Δt = 0.01, 3 000 steps (t = 30), μ₀ = N(0, I);
* ``mixture20`` (:func:`mfbd.problems.gaussian_mixture_20d`): N = 1 000, Δt = 0.1, 1 000 steps (t = 100), μ₀ = N(0, I);
* ``four_modes``: N = 500, Δt = 0.01, 1 000 steps (t = 10), all particles in mode 1.

Arms: Langevin; birth–death Langevin (scheme A, "pde" rate, α = 1, median bandwidth; h = 0.1 on the four
modes); on the four modes also ``smc_wfr``: the weighted scheme (scheme B, the same reweighting
log w ← log w - αΔt(V - V̄) as the WFR reaction) resampled systematically at every step (``resample_below=1``),
KDE bandwidth √(2Δt), the width of the Langevin kernel that SMC-WFR's density estimate uses. (SMC-WFR
itself weights by (π/μ̂)^{1 - e^{-Δt}} with μ̂ the mixture of the Langevin transition kernels from the
previous particles; ours differs at O(Δt²) in the exponent and in where the kernel is centred.)

Cost: every step costs n ∇U evaluations in every arm (``grad_evals``), n² kernel evaluations in the reacting
arms (``kernel_evals``, 0 for Langevin), and the wall-clock per step measured round-robin in this process.
Langevin runs ``LANGEVIN_FACTOR`` times longer than the others so that its curve reaches their wall-clock
cost (where a step costs more than that factor, Langevin's last value stands for it: its plateau);
``equal_cost.csv`` reads every arm against Langevin at the same t and at the same wall-clock
(:func:`experiments.sampling.equal_cost.equal_cost_rows`). Metrics: MMD², W1, moment errors and the
Kozachenko–Leonenko KL of the particles (``smc_wfr`` resamples at the end of every step, so its recorded
particles are equally weighted too).
"""

from __future__ import annotations

import jax
import numpy as np

import mfbd
from experiments.common import md_table, write_rows
from experiments.sampling.common import cost_curve, out_dir
from experiments.sampling.equal_cost import equal_cost_rows, per_step_seconds
from mfbd.problems import banana, gaussian_mixture_20d, kl_observer, make_target, sampling, sampling_observer

LANGEVIN_FACTOR = 10
METRICS = ("mmd2", "kl", "w1", "mean_error", "cov_error")


def _observer(target):
    mmd, kl = sampling_observer(target, jax.random.key(12345), 2000), kl_observer(target)
    return lambda state: mmd(state) | kl(state)


def cases(smoke: bool):
    """name -> (target, n, dt, observe, {arm: (problem, scheme, steps)}, read times)."""
    out = {}
    specs = (
        ("banana", banana(), 300, 0.01, 3000, "median", (1.0, 3.0, 10.0, 30.0)),
        ("mixture20", gaussian_mixture_20d(), 1000, 0.1, 1000, "median", (3.0, 10.0, 30.0, 100.0)),
        ("four_modes", make_target("four_mode_mixture"), 500, 0.01, 1000, 0.1, (1.0, 3.0, 10.0)),
    )
    for name, target, n, dt, steps, h, times in specs:
        n, steps = (min(n, 64), 20) if smoke else (n, steps)
        problem = sampling(target, bandwidth=h)
        lan = mfbd.gradient_flow(problem.meta.transport_only, dt, noise=1.0)
        arms = {"langevin": (problem, lan, steps * (2 if smoke else LANGEVIN_FACTOR))}
        arms["bd_langevin"] = (problem, mfbd.birth_death(problem, dt, 1.0, noise=1.0), steps)
        if name == "four_modes":
            smc = sampling(target, bandwidth=float(np.sqrt(2 * dt)))
            arms["smc_wfr"] = (smc, mfbd.reweighting(smc, dt, 1.0, noise=1.0, resample_below=1.0), steps)
        out[name] = (target, n, dt, _observer(target), arms, times if not smoke else (0.1, 0.2))
    return out


def main(smoke=False, seeds=None, out=None):
    seeds = seeds or (2 if smoke else 4)
    rows, table, timing = [], [], []
    for case, (target, n, dt, observe, arms, times) in cases(smoke).items():
        seconds = per_step_seconds(target, n, arms, seeds, 3)
        curves = {}
        for label, arm in arms.items():
            records = 400 if label == "langevin" else 50
            curve, wall = cost_curve(target, label, arm, n=n, seeds=seeds, dt=dt, observe=observe, metrics=METRICS,
                                     seconds=seconds[label], records=records)  # fmt: skip
            curves[label] = curve
            rows += [{"case": case, "arm": label, "seeds": seeds} | {c: float(v[r]) for c, v in curve.items()}
                     for r in range(len(curve["time"]))]  # fmt: skip
            timing.append({"case": case, "arm": label, "ms_per_step": seconds[label] * 1e3, "run_seconds": wall})
            timing[-1] |= {"ratio_to_langevin": seconds[label] / seconds["langevin"]}
            print(timing[-1], flush=True)
        table += equal_cost_rows(case, curves, METRICS, times)  # wall-clock per unit t: any Δt
    folder = out_dir("side_by_side", out)
    write_rows(folder / "curves.csv", rows)
    columns = list(dict.fromkeys(k for r in table for k in r))
    write_rows(folder / "equal_cost.csv", table, columns)
    write_rows(folder / "timing.csv", timing)
    text = md_table(timing, list(timing[0])) + "\n\n"
    text += md_table([{k: r.get(k, "") for k in columns} for r in table], columns)
    (folder / "table.md").write_text(f"{seeds} seeds per arm (vmapped); times are mean-field t\n\n{text}\n")
    print(text)
