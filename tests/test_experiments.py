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


def test_power_law_fits_recover_exponent_prefactor_and_offset():
    import numpy as np

    from experiments.common import fit_power_law

    x = np.array([50.0, 100, 200, 500, 1000, 2000])
    plain = fit_power_law(x, 3.0 * x**-0.5)  # exact data: the log-log fit is exact, χ² = 0
    assert abs(plain.exponent + 0.5) < 1e-12 and abs(plain.prefactor - 3.0) < 1e-10 and plain.exponent_se < 1e-10
    shifted = fit_power_law(x, 2.0 / x - 1e-4, np.full(x.size, 1e-7), offset=True)
    assert abs(shifted.exponent + 1) < 1e-3 and abs(shifted.offset + 1e-4) < 1e-7 and abs(shifted.prefactor - 2) < 0.01
    assert shifted.lo <= shifted.exponent <= shifted.hi


def test_pde_report_renders_from_the_committed_tables(tmp_path):
    """``python -m experiments.pde --report-only`` on the committed CSVs refits the slopes to the committed ones
    and writes the committed REPORT.md."""
    import shutil

    import numpy as np

    from experiments import pde
    from experiments.common import read_rows

    committed = pde.RESULTS / "pde"
    out = shutil.copytree(committed, tmp_path / "pde")
    pde.main(["--report-only", "--out", str(out)])
    assert (out / "REPORT.md").read_text() == (committed / "REPORT.md").read_text()
    for got, want in zip(
        read_rows(out / "particle_slopes.csv"), read_rows(committed / "particle_slopes.csv"), strict=True
    ):
        assert got.keys() == want.keys()
        for k, v in want.items():
            assert got[k] == v if isinstance(v, str) else np.isclose(got[k], v, rtol=1e-9, atol=0), (k, got[k], v)
