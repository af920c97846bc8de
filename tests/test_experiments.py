"""Smoke versions of the experiment drivers (experiments/paper/) produce their tables and figures."""

import csv

import pytest

from experiments import paper


@pytest.mark.slow
@pytest.mark.parametrize("command", list(paper.COMMANDS))
def test_driver_smoke(command, tmp_path):
    paper.main([command, "--smoke", "--results", str(tmp_path / "results"), "--runs", str(tmp_path / "runs")])
    tables = list((tmp_path / "results").rglob("*.csv"))
    figures = list((tmp_path / "results").rglob("*.png"))
    assert tables and figures and list((tmp_path / "results").rglob("summary.json"))
    for table in tables:
        with open(table) as f:
            rows = list(csv.reader(f))
        assert len(rows) > 1 and all(len(r) == len(rows[0]) for r in rows)


def test_first_hit_and_speedup():
    import numpy as np

    steps = np.array([0, 10, 20, 30])
    values = np.array([[1.0, 0.5, 0.2, 0.1], [1.0, 0.9, 0.8, 0.7]])
    np.testing.assert_array_equal(paper.first_hit(values, steps, 0.5), [10, np.nan])
    gd = np.array([[1.0, 0.8, 0.6, 0.4]])
    fast = np.array([[1.0, 0.6, 0.3, 0.2]])
    assert paper.speedup(gd, fast, steps, 10) == (2.0, False)  # GD needs 20 steps for what fast has at 10
    assert paper.speedup(gd, fast, steps, 20) == (1.5, True)  # never reached: a lower bound 30/20


def test_power_law_fit_recovers_the_exponent():
    import numpy as np

    n = np.array([50.0, 100, 200, 400, 800, 1600])
    energy = 0.01 + 0.3 / n
    slope, limit = paper.fit_finite_n(n, energy, np.full(n.size, 1e-6))
    assert abs(slope + 1) < 0.01 and abs(limit - 0.01) < 1e-4
