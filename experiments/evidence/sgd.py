"""Study 3 (b): experiment 2's winners in data mode, SGD on fresh mini-batches in the mean-field scaling.

The problem of :mod:`experiments.evidence.exp2_fresh` (d = 50, 10 teacher units, f = (1/n) Σ c_i relu(z_i·x),
inputs on the sphere, n = 200, Δt = 5, float64) in data mode: every oracle pass draws a fresh batch of
``batch`` inputs, so V, ∇V, the transport and the reaction all see mini-batch estimates. The arms are
exp2_fresh's: GD (to 2T), scheme B at α = 1 constant (carried gradient), scheme A at α = 1 with the fresh
gradient (a second pass, on a new batch) and α switched off for the last 20% (at 0.8 T), on seeds 100–119.
The energy compared is the population energy after the reaction, in closed form (the kernel-mode problem);
the statistic and tables are exp2_fresh's (:func:`experiments.evidence.exp2_fresh.compare_rows`).
"""

from __future__ import annotations

import dataclasses
import json
import time

import jax
import numpy as np

import mfbd
from experiments.common import md_table, write_rows
from experiments.evidence import exp2_fresh
from experiments.evidence.common import RESULTS, run_interleaved
from experiments.exp2_schedules import core
from mfbd.simulate import state_energy


@dataclasses.dataclass(frozen=True)
class Sizes(exp2_fresh.Sizes):
    batch: int = 100


FULL = Sizes(horizons=(2500.0, 5000.0))
LARGE = Sizes(horizons=(2500.0, 5000.0, 10000.0, 20000.0))
SMOKE = Sizes(n=16, seeds=(100, 101, 102), horizons=(100.0,), record_time=20.0, chunk_records=1, batch=20)
KEYS = ("time", "passes", "wall", "state_energy", "energy", "killed", "born", "ess")


def problems(batch: int):
    """(the data-mode problem, its kernel-mode twin for the population energy)."""
    options = core.PROBLEM | {"mode": "data", "batch_size": batch}
    return mfbd.problems.student_teacher(jax.random.key(0), **options), core.problem()


def main(seeds: int = 0, smoke: bool = False, large: bool = False):
    """One interleaved round per horizon (shortest first), the tables rewritten after each round."""
    del seeds  # fixed: 100-119
    sizes = SMOKE if smoke else LARGE if large else FULL
    prob, exact = problems(sizes.batch)
    every = int(round(sizes.record_time / sizes.dt))
    out = RESULTS / ("sgd_smoke" if smoke else "sgd_large" if large else "sgd")
    out.mkdir(parents=True, exist_ok=True)
    rows, per_seed, finals, walls = [], [], {}, {}
    for horizon in sizes.horizons:
        schemes, steps = exp2_fresh.arms(prob, sizes, horizon)
        for name in [k for k in schemes if "max_transfer" in k]:  # never engaged in kernel mode: not rerun
            del schemes[name], steps[name]
        t0 = time.perf_counter()
        traces = run_interleaved(prob, schemes, list(sizes.seeds), sizes.n, steps, every, every * sizes.chunk_records,
                                 observe=state_energy(exact))  # fmt: skip
        walls[f"T={horizon:g}"] = time.perf_counter() - t0
        for tr in traces.values():
            tr["wall"] = np.broadcast_to(tr["wall"], tr["time"].shape)
        np.savez_compressed(out / f"traces_T{horizon:g}.npz",
                            **{f"{n}/{k}": np.asarray(tr[k]) for n, tr in traces.items() for k in KEYS})  # fmt: skip
        new, seeds_rows = exp2_fresh.compare_rows(traces, dataclasses.replace(sizes, horizons=(horizon,)))
        rows, per_seed = rows + new, per_seed + seeds_rows
        for name, tr in traces.items():
            e, at_t = tr["state_energy"], exp2_fresh.upto(tr, horizon)["state_energy"][:, -1]
            finals[f"{name.split(' T=')[0]} T={horizon:g}"] = {
                "steps": steps[name], "non_finite_seeds": int(np.sum(~np.all(np.isfinite(e), axis=1))),
                "energy_at_T_geomean": float(np.exp(np.mean(np.log(at_t)))),
                "compile_s": tr["compile_s"], "run_wall_s": float(tr["wall"][0, -1]),
                "passes_end": float(tr["passes"][0, -1]),
            }  # fmt: skip
        write_rows(out / "compare.csv", rows)
        write_rows(out / "per_seed.csv", per_seed)
        summary = {"sizes": dataclasses.asdict(sizes), "wall_seconds_per_round": walls, "arms": finals}
        (out / "summary.json").write_text(json.dumps(summary, indent=1))
        wide = exp2_fresh.wide_table(rows)
        (out / "wide.md").write_text(md_table(wide, list(wide[0])))
        print(md_table(wide, list(wide[0])), json.dumps(finals, indent=1), sep="\n", flush=True)
    return summary
