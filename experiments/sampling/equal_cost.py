"""Study (d): Langevin against birth–death Langevin at equal time and at equal cost.

Four-mode mixture (N = 500, Δt = 0.01, all particles in mode 1) and the 2-D Gaussian of study (a)
(n = 1000, μ₀ = N((3, 3), I/4)). Langevin runs long enough to reach its plateau (t = 300 on the
four modes, 20 on the Gaussian), birth–death Langevin (scheme A, "pde" rate, α = 1) to t = 10 / 6; on
the four modes at h = 1, 0.3, the median width, h = 1 with ``neighbours=32`` and h = 1 with its kernel in
float32 (``kernel_dtype="float32"``).
Every record carries the cost columns: ``grad_evals`` (∇U at one particle: n per step for every
arm, so equal ∇U evaluations is equal t here), ``kernel_evals`` (K_h pairs: n² per step for the full
KDE, n(p - 1) with ``neighbours=p``, 0 for Langevin) and ``seconds``, the wall-clock of the steps at
the per-step times measured round-robin in this process (compilation excluded).

``equal_cost.csv`` then reads each birth–death record against Langevin at the same t and at the
same wall-clock (t_L = seconds / Langevin's seconds per step · Δt, Langevin's curve interpolated;
beyond its end, its last value).
"""

from __future__ import annotations

import jax
import numpy as np

import mfbd
from experiments.benchmarks.common import interleaved
from experiments.common import md_table, read_rows, write_rows
from experiments.sampling.common import cost_curve, out_dir
from mfbd.problems import gaussian, make_target, moment_errors, sampling, sampling_observer
from mfbd.simulate import init_ensemble, run_chunk

COV = [[1.0, 0.6], [0.6, 2.0]]
DT = 0.01


def _gaussian_observer(target):
    def observe(state):
        w, x = jax.nn.softmax(state.log_weights), state.particles
        return moment_errors(x, w, target.mean, target.covariance)

    return observe


def cases(smoke: bool):
    """name -> (target, n, observe, metrics, {arm: (problem, scheme, steps, record_every)})."""
    four = make_target("four_mode_mixture")
    gauss = gaussian(dim=2, covariance=COV, init_mean=[3.0, 3.0])
    scale = 50 if smoke else 1
    out = {}
    four_arms, four_metrics = (1.0, 0.3, "median", "p=32", "f32"), ("mmd2", "w1", "mean_error", "cov_error")
    for name, target, n, t_lan, t_bd, bandwidths, metrics in (
        ("four_modes", four, 500, 300.0, 10.0, four_arms, four_metrics),
        ("gaussian", gauss, 1000, 20.0, 6.0, ("median", 0.5), ("mean_error", "cov_error")),
    ):
        n = 50 if smoke else n
        observe = sampling_observer(target, jax.random.key(12345), 2000) if name == "four_modes" else None
        observe = observe or _gaussian_observer(target)
        plain = sampling(target, bandwidth=1.0)
        steps = round(t_lan / DT / scale)
        arms = {"langevin": (plain, mfbd.gradient_flow(plain.meta.transport_only, DT, noise=1.0), steps)}
        for h in bandwidths:
            p = 32 if h == "p=32" else None
            low = "float32" if h == "f32" else None
            problem = sampling(target, bandwidth=1.0 if p or low else h, neighbours=p, kernel_dtype=low)
            label = f"bd h=1 p={p}" if p else "bd h=1 float32 kernel" if low else f"bd h={h}"
            arms[label] = (problem, mfbd.birth_death(problem, DT, 1.0, noise=1.0), round(t_bd / DT / scale))
        out[name] = (target, n, observe, metrics, arms)
    return out


def per_step_seconds(target, n, arms, seeds, repeats):
    """Wall-clock seconds per step of each arm (``seeds`` vmapped), round-robin in this process."""
    calls = {}
    for label, (_, scheme, _) in arms.items():
        states, keys = init_ensemble(scheme, target, n, range(seeds))
        run = run_chunk(scheme, 1, 20, lambda s: {}, seeds=True)
        calls[label] = lambda run=run, states=states, keys=keys: run(keys, states)
    t = interleaved(calls, repeats)
    return {label: t.median(label) / 20 for label in arms}


def main(smoke=False, seeds=None, out=None):
    seeds = seeds or (2 if smoke else 10)
    rows, table = [], []
    for case, (target, n, observe, metrics, arms) in cases(smoke).items():
        seconds = per_step_seconds(target, n, arms, seeds, 3 if smoke else 7)
        curves = {}
        for label, arm in arms.items():
            records = 300 if label == "langevin" else 100
            curve, wall = cost_curve(target, label, arm, n=n, seeds=seeds, dt=DT, observe=observe, metrics=metrics,
                                     seconds=seconds[label], records=records)  # fmt: skip
            curves[label] = curve
            for r in range(len(curve["time"])):
                rows.append({"case": case, "arm": label, "seeds": seeds} | {c: float(v[r]) for c, v in curve.items()})
            print(case, label, f"{seconds[label] * 1e3:.2f} ms/step, run {wall:.0f} s", flush=True)
        table += equal_cost_rows(case, curves, metrics)
    folder = out_dir("equal_cost", out)
    write_rows(folder / "curves.csv", rows)
    tables(folder)


def tables(folder):
    """``equal_cost.csv`` and ``table.md`` from ``curves.csv`` (rerun alone: ``tables(out_dir("equal_cost"))``)."""
    rows = read_rows(folder / "curves.csv")
    table = []
    for case in dict.fromkeys(r["case"] for r in rows):
        mine = [r for r in rows if r["case"] == case]
        metrics = [m for m in ("mmd2", "w1", "mean_error", "cov_error") if mine[0][m] != ""]
        curves = {}
        for arm in dict.fromkeys(r["arm"] for r in mine):
            sel = [r for r in mine if r["arm"] == arm]
            curves[arm] = {k: np.array([r[k] for r in sel], float) for k in ("time", "seconds", *metrics)}
        table += equal_cost_rows(case, curves, metrics)
    columns = list(dict.fromkeys(k for r in table for k in r))
    write_rows(folder / "equal_cost.csv", table, columns)
    text = md_table([{k: r.get(k, "") for k in columns} for r in table], columns)
    (folder / "table.md").write_text(text + "\n")
    print(text)


def equal_cost_rows(case, curves, metrics, times=(1.0, 2.0, 3.0, 6.0, 10.0)):
    """Each birth–death arm at ``times`` against Langevin at the same t and at the same wall-clock."""
    lan = curves["langevin"]
    per_step_lan = lan["seconds"][-1] / round(lan["time"][-1] / DT)
    rows = []
    for label, curve in curves.items():
        if label == "langevin":
            continue
        for t in times:
            r = np.argmin(np.abs(curve["time"] - t))
            if abs(curve["time"][r] - t) > 1e-6:
                continue
            t_cost = curve["seconds"][r] / per_step_lan * DT
            row = {"case": case, "arm": label, "t": t, "langevin_t_same_wallclock": round(float(t_cost), 2)}
            for m in metrics[:2]:
                row[m] = float(curve[m][r])
                row[f"langevin_{m}_same_t"] = float(np.interp(t, lan["time"], lan[m]))
                row[f"langevin_{m}_same_wallclock"] = float(np.interp(t_cost, lan["time"], lan[m]))
            rows.append(row)
    for m in metrics[:2]:
        plateau = float(np.mean(lan[m][lan["time"] >= 0.7 * lan["time"][-1]]))
        rows.append({"case": case, "arm": f"langevin plateau ({m}, last 30% of t)", "t": float(lan["time"][-1])})
        rows[-1][m] = plateau
    columns = list(rows[0])
    return [{k: r.get(k, "") for k in columns} for r in rows]
