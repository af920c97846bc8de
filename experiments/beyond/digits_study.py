"""Digits: gradient descent against birth-death, reweighting, conic descent and mean-field Langevin, 10 seeds.

The problem is :func:`mfbd.problems.digits` (1 500 training images, 297 test images,
softmax cross-entropy, n = 100 ReLU units with 10 outputs, mean-field scaling),
Δt = 0.5 for 300 steps (mean-field time 150), α = 0.1 for the three reactions and
τ_k = 1e-3/log(kΔt + e) for Langevin. Sized for a shared 2-core CPU (the whole
study is 5 programs, one per dynamics, each vmapped over the 10 seeds).

Columns: final train loss and test accuracy (mean ± sd over seeds), the paired
difference of the final train loss against gradient descent (same seed, same μ₀;
mean ± standard error, and how many seeds ended lower), and the cost of reaching
the train-loss target: mean-field time, oracle passes (one per step for every
scheme here: Lie splitting with the carried gradient) and wall-clock (the
program's wall time per step, compile included, times the steps to target).

    PYTHONPATH=. python -m experiments.beyond.digits_study
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import jax
import numpy as np

import mfbd
from experiments.common import machine_record, md_table, write_rows
from mfbd.problems import classification_observer, digits
from mfbd.simulate import init_ensemble, run_chunk

RESULTS = Path(__file__).resolve().parents[1] / "results" / "beyond" / "digits"
N, DT, STEPS, EVERY, SEEDS, ALPHA, TARGET = 100, 0.5, 300, 10, 10, 0.1, 0.08
DYNAMICS = {
    "gradient descent": lambda p: mfbd.gradient_flow(p, DT),
    "birth-death": lambda p: mfbd.birth_death(p, DT, ALPHA),
    "reweighting": lambda p: mfbd.reweighting(p, DT, ALPHA),
    "conic": lambda p: mfbd.conic(p, DT, ALPHA),
    "MF Langevin": lambda p: mfbd.gradient_flow(p, DT, noise=mfbd.schemes.logarithmic(1e-3, DT)),
}


def run(steps: int = STEPS, seeds: int = SEEDS, n: int = N):
    problem = digits()
    e = problem.extras
    results = {}
    for name, make in DYNAMICS.items():
        scheme = make(problem)
        observe = classification_observer(problem, e["x_test"], e["y_test"], conic=name == "conic")

        t0 = time.perf_counter()
        states, keys = init_ensemble(scheme, problem, n, range(seeds))
        _, trace = run_chunk(scheme, steps // EVERY, EVERY, observe, seeds=True)(keys, states)
        trace = jax.tree.map(np.asarray, jax.block_until_ready(trace))
        results[name] = (trace, time.perf_counter() - t0)
        print(f"{name}: {results[name][1]:.1f} s", flush=True)
    return results


def _to_target(trace):
    """Per seed, the first recorded step whose train loss is ≤ TARGET (NaN if never)."""
    hit = trace["energy"] <= TARGET
    first = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
    return np.where(first >= 0, trace["step"][0][np.maximum(first, 0)], np.nan)


def report(results, steps):
    RESULTS.mkdir(parents=True, exist_ok=True)
    base = results["gradient descent"][0]["energy"][:, -1]
    rows = []
    for name, (trace, wall) in results.items():
        loss, acc = trace["energy"][:, -1], trace["test_accuracy"][:, -1]
        diff = loss - base
        reach = _to_target(trace)
        rows.append({
            "dynamics": name, "train_loss": loss.mean(), "train_loss_sd": loss.std(ddof=1),
            "test_acc": acc.mean(), "test_acc_sd": acc.std(ddof=1),
            "vs_gd_diff": diff.mean(), "vs_gd_se": diff.std(ddof=1) / np.sqrt(diff.size),
            "seeds_lower": int((diff < 0).sum()), "reached": int(np.isfinite(reach).sum()),
            "t_to_target": np.nanmean(reach) * DT if np.isfinite(reach).any() else np.nan,
            "passes_to_target": np.nanmean(reach) if np.isfinite(reach).any() else np.nan,
            "wall_to_target_s": np.nanmean(reach) * wall / steps if np.isfinite(reach).any() else np.nan,
            "wall_s": wall, "final_mass": trace["mass"][:, -1].mean(),
        })  # fmt: skip
    write_rows(RESULTS / "table.csv", rows, float_format="{:.5g}")
    curves = [
        {"dynamics": name, "step": int(s), "train_loss": trace["energy"][:, j].mean(),
         "test_acc": trace["test_accuracy"][:, j].mean()}
        for name, (trace, _) in results.items() for j, s in enumerate(trace["step"][0])
    ]  # fmt: skip
    write_rows(RESULTS / "curves.csv", curves, float_format="{:.5g}")
    meta = {"n": N, "dt": DT, "steps": steps, "seeds": SEEDS, "alpha": ALPHA, "target": TARGET}
    (RESULTS / "summary.json").write_text(json.dumps({**meta, "machine": machine_record()}, indent=1, default=str))
    columns = ["dynamics", "train_loss", "train_loss_sd", "test_acc", "test_acc_sd", "vs_gd_diff", "vs_gd_se",
               "seeds_lower", "reached", "t_to_target", "passes_to_target", "wall_to_target_s", "wall_s",
               "final_mass"]  # fmt: skip
    print(md_table(rows, columns))


def main(argv=None):
    smoke = "--smoke" in (argv or sys.argv[1:])
    steps, seeds = (20, 2) if smoke else (STEPS, SEEDS)
    results = run(steps, seeds)
    if not smoke:
        report(results, steps)
    return results


if __name__ == "__main__":
    main()
