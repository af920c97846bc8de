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

import jax

import mfbd
from experiments.evidence import exp2_fresh
from experiments.evidence.common import RESULTS
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
    """The winners against GD with SGD, a round per horizon (:func:`experiments.evidence.exp2_fresh.run_rounds`)."""
    del seeds  # fixed: 100-119
    sizes = SMOKE if smoke else LARGE if large else FULL
    prob, exact = problems(sizes.batch)

    def schemes_for(horizon):
        schemes, steps = exp2_fresh.arms(prob, sizes, horizon)
        for name in [k for k in schemes if "max_transfer" in k]:  # never engaged in kernel mode: not rerun
            del schemes[name], steps[name]
        return schemes, steps

    out = RESULTS / ("sgd_smoke" if smoke else "sgd_large" if large else "sgd")
    return exp2_fresh.run_rounds(prob, sizes, out, KEYS, schemes_for, state_energy(exact))
