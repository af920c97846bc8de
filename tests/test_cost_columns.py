"""The cost columns of metrics.csv (issue 21): ``passes`` (cumulative oracle passes, init's included) and
``wall`` (the arm's seconds of run time), in plain runs, sweeps and resumed runs."""

import csv

import numpy as np
from conftest import SMALL_GD

from mfbd import runner
from mfbd.config import load, read

CONFIG = SMALL_GD + '\n[arms.heun]\nscheme = "gradient_flow"\ndt = 0.01\norder = 2\n'


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _check(rows, arm, per_step):
    mine = [r for r in rows if r["arm"] == arm]
    for seed in {r["seed"] for r in mine}:
        steps = np.array([int(r["step"]) for r in mine if r["seed"] == seed])
        passes = np.array([int(r["passes"]) for r in mine if r["seed"] == seed])
        wall = np.array([float(r["wall"]) for r in mine if r["seed"] == seed])
        np.testing.assert_array_equal(passes, 1 + per_step * steps)  # the hand count: init's pass, then per step
        assert (np.diff(wall) >= 0).all() and wall[0] > 0


def test_passes_are_the_hand_count_and_wall_grows_in_a_run_and_a_sweep(tmp_path):
    """Euler with the carried gradient: one pass per step; order 2 (Heun): two; init: one."""
    path = tmp_path / "cost.toml"
    path.write_text(CONFIG.replace("steps = 40", "steps = 40\nrecord_every = 10\nchunk = 20\nseeds = 2"))
    runner.run(load(str(path)), tmp_path / "run")
    rows = _rows(tmp_path / "run" / "metrics.csv")
    _check(rows, "gd", 1)
    _check(rows, "heun", 2)
    sweep = path.read_text() + '\n[sweep]\n"arms.gd.dt" = [0.01, 0.02]\n'
    path.write_text(sweep)
    runner.run(read(str(path)), tmp_path / "sweep")
    rows = _rows(next((tmp_path / "sweep").glob("group-*")) / "metrics.csv")
    for point in {r["point"] for r in rows}:
        _check([r for r in rows if r["point"] == point], "gd", 1)
