"""Digits: gradient descent against birth-death, reweighting, conic descent and mean-field Langevin.

The problem is :func:`mfbd.problems.digits` (1 500 training images, 297 test images,
softmax cross-entropy, n = 100 ReLU units with 10 outputs, mean-field scaling),
Δt = 0.5, α = 0.1 for the three reactions and τ_k = 1e-3/log(kΔt + e) for Langevin;
seed s gives every dynamics the same μ₀. The arms run interleaved chunk by chunk
(:func:`experiments.evidence.common.run_interleaved`, each arm one program vmapped
over the seeds), so their wall-clock is measured under the same load, compilation
excluded. Gradient descent, the reference, runs twice as long so that it can reach
the arms' losses.

The comparison is :func:`mfbd.stats.compare` on the train loss: paired per-seed
time-to-target in both directions, in mean-field time, oracle passes and
wall-clock, at the reference's records at several steps, with bootstrap intervals,
censored and failing seeds counted. The cost table gives passes and wall per step.

    PYTHONPATH=. python -m experiments.beyond.digits_study [--seeds S] [--steps K] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import mfbd
from experiments.common import machine_record, md_table, write_rows
from experiments.evidence.common import run_interleaved
from mfbd import stats
from mfbd.problems import classification_observer, digits

RESULTS = Path(__file__).resolve().parents[1] / "results" / "beyond" / "digits"
N, DT, STEPS, EVERY, SEEDS, ALPHA = 100, 0.5, 300, 10, 10, 0.1
CHECKPOINTS = (0.25, 0.5, 1.0)  # fractions of the arms' steps: the reference's records there
DYNAMICS = {
    "gradient descent": lambda p: mfbd.gradient_flow(p, DT),
    "birth-death": lambda p: mfbd.birth_death(p, DT, ALPHA),
    "reweighting": lambda p: mfbd.reweighting(p, DT, ALPHA),
    "conic": lambda p: mfbd.conic(p, DT, ALPHA),
    "MF Langevin": lambda p: mfbd.gradient_flow(p, DT, noise=mfbd.schemes.logarithmic(1e-3, DT)),
}
REFERENCE = "gradient descent"
UNITS = (("time", "time"), ("oracle passes", "passes"), ("wall-clock s", "wall"))


def run(steps: int = STEPS, seeds: int = SEEDS, n: int = N, chunk: int = 50):
    """Per-arm traces ``[S, R+1]`` (initial record first) with test accuracy, cumulative passes and wall."""
    problem = digits()
    e = problem.extras
    schemes = {name: make(problem) for name, make in DYNAMICS.items()}
    observe = {
        name: classification_observer(problem, e["x_test"], e["y_test"], conic=name == "conic") for name in schemes
    }
    lengths = {name: (2 * steps if name == REFERENCE else steps) for name in schemes}
    return run_interleaved(problem, schemes, list(range(seeds)), n, lengths, EVERY, chunk, observe)


def comparison_rows(traces, steps: int) -> list[dict]:
    """One row per arm, unit, checkpoint and direction (:func:`mfbd.stats.compare` on the train loss)."""
    ref = traces[REFERENCE]
    rows = []
    for name, tr in traces.items():
        if name == REFERENCE:
            continue
        for unit, key in UNITS:
            at = [int(round(f * steps)) // EVERY for f in CHECKPOINTS]
            checkpoints = [float(np.mean(np.asarray(ref[key])[..., r])) for r in at]
            compared = stats.compare(tr[key], tr["energy"], ref[key], ref["energy"], checkpoints)
            for r, row in zip(np.repeat(at, 2), compared, strict=True):
                rows.append({
                    "arm": name, "unit": unit, "gd_step": int(r * EVERY), "checkpoint": row.checkpoint,
                    "direction": row.direction, "ratio": row.ratio, "low": row.low, "high": row.high,
                    "bound": row.bound or "", "censored": row.censored, "failed": row.failed, "seeds": row.seeds,
                })  # fmt: skip
    return rows


def cost_rows(traces, steps: int) -> list[dict]:
    """Final train loss, test accuracy and mass (mean ± sd over seeds at the arms' last step) and the costs."""
    rows = []
    for name, tr in traces.items():
        last = steps // EVERY
        loss, acc = tr["energy"][:, last], tr["test_accuracy"][:, last]
        rows.append({
            "dynamics": name, "train_loss": loss.mean(), "train_loss_sd": loss.std(ddof=1),
            "test_acc": acc.mean(), "test_acc_sd": acc.std(ddof=1), "final_mass": tr["mass"][:, last].mean(),
            "passes_per_step": float(tr["passes"][0, last] - 1) / steps,
            "wall_per_step_ms": 1e3 * float(tr["wall"][last]) / steps, "compile_s": tr["compile_s"],
        })  # fmt: skip
    return rows


def report(traces, steps: int, seeds: int, wall: float):
    RESULTS.mkdir(parents=True, exist_ok=True)
    compared, costs = comparison_rows(traces, steps), cost_rows(traces, steps)
    write_rows(RESULTS / "comparison.csv", compared, float_format="{:.5g}")
    write_rows(RESULTS / "table.csv", costs, float_format="{:.5g}")
    curves = [
        {"dynamics": name, "step": int(s), "train_loss": tr["energy"][:, j].mean(),
         "test_acc": tr["test_accuracy"][:, j].mean(), "wall_s": float(tr["wall"][j])}
        for name, tr in traces.items() for j, s in enumerate(tr["step"][0])
    ]  # fmt: skip
    write_rows(RESULTS / "curves.csv", curves, float_format="{:.5g}")
    meta = {"n": N, "dt": DT, "steps": steps, "reference_steps": 2 * steps, "seeds": seeds, "alpha": ALPHA,
            "checkpoints": CHECKPOINTS, "wall_s_total": wall}  # fmt: skip
    (RESULTS / "summary.json").write_text(json.dumps({**meta, "machine": machine_record()}, indent=1, default=str))
    cost_table = md_table(costs, list(costs[0]))
    pretty = [{k: (f"{v:.3g}" if isinstance(v, float) else v) for k, v in r.items() if k != "seeds"} for r in compared]
    comparison_table = md_table(pretty, list(pretty[0]))
    (RESULTS / "table.md").write_text(cost_table + "\n\n" + comparison_table + "\n")
    print(cost_table, comparison_table, sep="\n\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--steps", type=int, default=STEPS, help="steps of the arms (the reference runs 2×)")
    parser.add_argument("--smoke", action="store_true", help="2 seeds, 40 steps, nothing written")
    args = parser.parse_args(argv)
    steps, seeds = (40, 2) if args.smoke else (args.steps, args.seeds)
    t0 = time.perf_counter()
    traces = run(steps, seeds, chunk=20 if args.smoke else 50)
    wall = time.perf_counter() - t0
    print(f"{len(traces)} arms × {seeds} seeds, {steps} steps: {wall:.1f} s", flush=True)
    if not args.smoke:
        report(traces, steps, seeds, wall)
    return traces


if __name__ == "__main__":
    main()
