"""The transfer limit on scheme B: experiment 2 mean-field (n = 200), α = 1, Δt = 5, T = 5000, 20 seeds.

Without a limit one reweighting step may hand most of the mass to a few fringe
units (αΔt|V - V̄| of order 40-60), after which the transport can explode. With
``max_transfer`` a step that would move more than that much mass (total
variation) is sub-cycled with V re-evaluated (:func:`mfbd.schemes.reweighting.adaptive_reweighting`).
Prints, per arm, the seeds that stayed finite, the seed-mean E(T) of the finite
seeds, the largest one-step mass transfer seen and the wall-clock of the
(vmapped) run. Run ``python -m experiments.time_order.transfer [--seeds 20]``.

``--cost``: the price of the limit, measured comparably in one process: a jitted chunk of ``--steps`` steps
of each arm from the same states (the start, t = 0, and the no-limit run's state at ``--late``), timed
round-robin in CPU seconds of this process (:func:`experiments.benchmarks.common.interleaved`), and the
oracle passes per step each arm made (``Info.oracle_passes``: sub-cycles cost one pass each).
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

import mfbd
from experiments.exp2_schedules.core import problem as exp2_problem
from mfbd.simulate import init_ensemble, run_chunk


def largest_transfer(prob, dt, alpha):
    """An observer: ½Σ|w' - w| of the frozen-V step the state's V would take next (the uncapped transfer)."""

    def observe(state):
        w = jax.nn.softmax(state.log_weights)
        new = jax.nn.softmax(state.log_weights - alpha * dt * (state.potential - w @ state.potential))
        return {"transfer": 0.5 * jax.numpy.abs(new - w).sum()}

    return observe


def run(max_transfer, seeds: int, n: int, dt: float, alpha: float, horizon: float, record: float) -> dict:
    prob = exp2_problem()
    scheme = mfbd.reweighting(prob, dt, alpha, max_transfer=max_transfer)
    t0 = time.perf_counter()
    state, run_keys = init_ensemble(scheme, prob, n, range(seeds))
    every = int(round(record / dt))
    steps = int(round(horizon / dt))
    chunk = run_chunk(scheme, steps // every, every, largest_transfer(prob, dt, alpha), seeds=True)
    state, trace = chunk(run_keys, state)
    energy = np.asarray(trace["energy"])
    wall = time.perf_counter() - t0
    finite = np.all(np.isfinite(energy), axis=1)
    transfer = np.asarray(trace["transfer"])
    mean = float(np.mean(energy[finite, -1])) if finite.any() else float("nan")
    largest = float(np.nanmax(np.where(np.isfinite(transfer), transfer, np.nan)))
    return dict(finite=int(finite.sum()), seeds=seeds, energy=mean, transfer=largest, wall=wall)


def cost(limit: float, seeds: int, n: int, dt: float, alpha: float, steps: int, late: float, repeats: int) -> list:
    """Rows ``(phase, passes per step without/with the limit, CPU-time ratio with/without)``."""
    from experiments.benchmarks.common import interleaved

    prob = exp2_problem()
    arms = {"none": mfbd.reweighting(prob, dt, alpha), "limit": mfbd.reweighting(prob, dt, alpha, max_transfer=limit)}
    start, run_keys = init_ensemble(arms["none"], prob, n, range(seeds))
    later = int(round(late / dt))
    phases = [("t = 0", start)]
    if later:
        phases.append((f"t = {late:g}", run_chunk(arms["none"], 1, later, seeds=True)(run_keys, start)[0]))
    rows = []
    for phase, state in phases:
        chunks = {name: run_chunk(scheme, 1, steps, seeds=True) for name, scheme in arms.items()}
        fns = {name: (lambda c=c, s=state: c(run_keys, s)[1]["energy"]) for name, c in chunks.items()}
        timings = interleaved(fns, repeats, time.process_time)
        passes = {name: float(np.mean(np.asarray(c(run_keys, state)[1]["oracle_passes"]))) / steps
                  for name, c in chunks.items()}  # fmt: skip
        rows.append((phase, passes["none"], passes["limit"], timings.ratio("limit", "none")))
        print(f"α = {alpha:g}, Δt = {dt:g}, {phase:10s} passes/step without {passes['none']:.3f}, "
              f"with max_transfer={limit:g} {passes['limit']:.3f};  "
              f"CPU-time ratio with/without {timings.ratio('limit', 'none'):.2f}x "
              f"(median of {repeats} interleaved rounds of {steps} steps × {seeds} seeds)", flush=True)  # fmt: skip
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.time_order.transfer", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--horizon", type=float, default=5000.0)
    parser.add_argument("--limits", default="none,0.5,0.2")
    parser.add_argument("--cost", action="store_true", help="the step cost ratio with and without --limit")
    parser.add_argument("--limit", type=float, default=0.25)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--late", type=float, default=2500.0, help="--cost: the later start (0: none)")
    parser.add_argument("--dt", type=float, default=5.0)
    parser.add_argument("--alpha", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    if args.cost:
        with jax.enable_x64(True):
            cost(args.limit, args.seeds, args.n, args.dt, args.alpha, args.steps, args.late, args.repeats)
        return
    for limit in args.limits.split(","):
        cap = None if limit == "none" else float(limit)
        with jax.enable_x64(True):
            r = run(cap, args.seeds, args.n, 5.0, 1.0, args.horizon, 100.0)
        print(f"max_transfer={limit:5s} finite {r['finite']}/{r['seeds']}  mean E(T) {r['energy']:.4e}  "
              f"largest uncapped transfer at the records {r['transfer']:.3f}  wall {r['wall']:.1f} s",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
