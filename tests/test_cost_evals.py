"""The sampling cost columns of metrics.csv: ``grad_evals`` and ``kernel_evals``, ``passes`` × the work of one
oracle pass that the problem declares (``SamplingMeta.cost``), against a hand count on a tiny run."""

import csv

from mfbd import runner
from mfbd.config import load
from mfbd.problems import PassCost, make_target, sampling

N = 8
CONFIG = f"""\
[problem]
name = "sampling"
target = "double_well"
bandwidth = 0.3
rate = "kl"

[run]
steps = 8
n = {N}
record_every = 4
chunk = 8

[arms.langevin]
scheme = "gradient_flow"
dt = 0.01
noise = 1.0

[arms.bd]
scheme = "birth_death"
dt = 0.01
noise = 1.0
alpha = 1.0
"""


def test_declared_cost_of_one_pass():
    """The "kl" rate with Langevin transport: two K_h sums of n² pairs; transport_only: ∇log π only."""
    problem = sampling(make_target("double_well"), bandwidth=0.3, rate="kl")
    assert problem.meta.cost(N) == PassCost(grad_evals=N, kernel_evals=2 * N * N)
    assert problem.meta.transport_only.meta.cost(N) == PassCost(grad_evals=N, kernel_evals=0)


def test_eval_columns_are_the_hand_count(tmp_path):
    """Langevin (transport_only, one pass per Euler step with the carried gradient, init's one): n ∇log π per
    pass and no kernel pair; birth-death on the KDE: 2n² K_h pairs and n ∇log π per pass."""
    path = tmp_path / "cost.toml"
    path.write_text(CONFIG)
    assert runner.run(load(str(path)), tmp_path / "run").code == 0
    with open(tmp_path / "run" / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {"grad_evals", "kernel_evals"} <= set(rows[0])
    for row in rows:
        passes, step = int(row["passes"]), int(row["step"])
        assert int(row["grad_evals"]) == N * passes
        if row["arm"] == "langevin":
            assert passes == 1 + step
            assert int(row["kernel_evals"]) == 0
        else:
            assert int(row["kernel_evals"]) == 2 * N * N * passes
    assert {int(r["step"]) for r in rows} == {0, 4, 8}


def test_other_problems_have_no_eval_columns(tmp_path):
    """A problem kind that declares no pass cost (here the Gaussian mixture) writes no such columns."""
    from conftest import SMALL_GD

    path = tmp_path / "gd.toml"
    path.write_text(SMALL_GD)
    runner.run(load(str(path)), tmp_path / "run")
    with open(tmp_path / "run" / "metrics.csv", newline="") as f:
        header = next(csv.reader(f))
    assert "kernel_evals" not in header and "grad_evals" not in header
