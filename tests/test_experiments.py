"""Smoke versions of the experiment drivers (experiments/paper/) produce their tables and figures."""

import csv

import jax
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


@pytest.mark.slow
def test_benchmarks_smoke(tmp_path):
    """The issue-24 benchmarks (reaction cost, roofline, compile cache) run in smoke mode and print
    every ratio against a target."""
    from experiments.benchmarks import run_all

    assert run_all.main(["--smoke", "--only", "reaction", "roofline", "compile_cache", "--out", str(tmp_path)]) == 0
    with open(next(tmp_path.glob("benchmarks_*.csv"))) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) > 10 and all(r["met"] in ("met", "NOT met") for r in rows if r["target"])
    assert {r["benchmark"].split(":")[0] for r in rows} == {"reaction", "roofline", "compile cache"}
    assert jax.config.jax_enable_x64  # the benchmarks ran in float32 and gave the suite's precision back


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


@pytest.mark.slow
def test_four_mode_study_smoke(tmp_path):
    """The four-mode study's smoke settings write every table and figure, one row per arm, finite metrics."""
    import jax
    import numpy as np

    from experiments.common import read_rows
    from experiments.sampling import four_modes

    with jax.enable_x64(True):
        four_modes.main(smoke=True, out=tmp_path)
    out = tmp_path / "four_modes"
    rows = read_rows(out / "metrics.csv")
    assert [(r["arm"], r["bandwidth"]) for r in rows] == [("exact_samples", "-"), ("langevin", "-")] + [
        (a, "median") for a in four_modes.ARMS
    ]
    assert all(r["seeds"] == r["finite_seeds"] == 2 and np.isfinite(r["mmd2"]) for r in rows)
    assert len(read_rows(out / "curves.csv")) == 2 * (len(rows) - 1)  # records at steps 10 and 20, not exact_samples
    assert all((out / f).stat().st_size > 0 for f in ("curves.png", "particles.png", "table.md", "machine.json"))
    alphas = read_rows(out / "alpha_sweep.csv")
    assert [(r["arm"], r["alpha"]) for r in alphas] == [(a, x) for a in ("bd_pde", "bd_kl") for x in four_modes.ALPHAS]


def test_gaussian_study_langevin_floor_is_the_wishart_sampling_error():
    """exact_rows' finite-n Langevin error at t → ∞ is √((‖Σ‖²_F + (tr Σ)²)/n): check it by Monte Carlo
    (400 draws of n = 200 points from π, tolerance 4 standard errors of the mean squared error)."""
    import numpy as np

    from experiments.sampling.gaussian import COV, exact_rows
    from mfbd.problems import gaussian

    target = gaussian(dim=2, covariance=COV, init_mean=[3.0, 3.0])
    predicted = exact_rows(target, [60.0], 200)[0]["cov_error_langevin_n"] ** 2
    x = np.random.default_rng(0).multivariate_normal([0.0, 0.0], COV, size=(400, 200))
    centred = x - x.mean(axis=1, keepdims=True)
    squared = np.sum((np.einsum("sni,snj->sij", centred, centred) / 200 - np.asarray(COV)) ** 2, axis=(1, 2))
    assert abs(squared.mean() - predicted) < 4 * squared.std(ddof=1) / np.sqrt(400)


@pytest.mark.slow
def test_gaussian_study_smoke(tmp_path):
    import jax

    from experiments.common import read_rows
    from experiments.sampling import gaussian

    with jax.enable_x64(True):
        gaussian.main(smoke=True, out=tmp_path)
    rows = read_rows(tmp_path / "gaussian" / "errors.csv")
    arms = {(r["arm"], str(r["bandwidth"])) for r in rows}
    assert arms == {("langevin", "-"), ("bd_langevin", "median"), ("bd_langevin", "0.5"), ("reweighting", "median")} | {
        ("exact_ou_law", "-")
    }
    assert len(rows) == 5 * 4 and (tmp_path / "gaussian" / "errors.png").stat().st_size > 0  # 4 records each
    finals = read_rows(tmp_path / "gaussian" / "final_covariance.csv")
    assert len(finals) == 4 and all(r["bias"] >= 0 and r["spread"] >= 0 for r in finals)


def test_ensemble_is_init_ensemble_then_run_chunk_in_any_chunking():
    """common.ensemble: record 0 is the start, then run_chunk from init_ensemble in any chunking; stop ends it."""
    import jax
    import numpy as np

    import mfbd
    from experiments.common import ensemble
    from mfbd.simulate import init_ensemble, run_chunk

    problem = mfbd.problems.gaussian_mixture_1d("good")
    scheme = mfbd.birth_death(problem, 0.01, 5.0)
    states, keys = init_ensemble(scheme, problem, 8, [4, 7])
    _, direct = run_chunk(scheme, 4, 5, seeds=True)(keys, states)
    _, whole = ensemble(scheme, problem, 8, [4, 7], 20, 5)
    _, chunked = ensemble(scheme, problem, 8, [4, 7], 20, 5, chunk=10)
    for k in direct:
        np.testing.assert_array_equal(whole[k][:, 1:], direct[k])
        np.testing.assert_array_equal(chunked[k], whole[k])
    np.testing.assert_array_equal(whole["energy"][:, 0], jax.device_get(states.energy))
    _, stopped = ensemble(scheme, problem, 8, [4, 7], 20, 5, chunk=10, stop=lambda trace: True)
    assert stopped["energy"].shape == (2, 3)  # the start and the first chunk's two records


@pytest.mark.slow
def test_double_well_step_cost_rows():
    """`sampling_cost --part double_well`'s timings: one row per arm at each n, Langevin the unit."""
    import time

    from experiments.benchmarks.sampling_cost import double_well_timings

    with jax.enable_x64(True):
        rows = double_well_timings(1, time.perf_counter, (16,))
    assert [(r["case"], r["n"]) for r in rows] == [("dw langevin", 16), ("dw bd h=0.15", 16),
                                                   ("dw reweighting h=0.15", 16)]  # fmt: skip
    assert rows[0]["ratio to Langevin"] == 1.0 and all(r["ms/step"] > 0 for r in rows)
