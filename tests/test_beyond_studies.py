"""The studies of issue 26: smoke runs of the torus and digits studies, and the grid solver of min F_τ."""

import numpy as np
import pytest

import mfbd
from experiments.beyond import mfl_torus


def test_mfl_torus_smoke():
    arms, trace = mfl_torus.main(["--smoke"])
    assert arms.shape == (2 * len(mfl_torus.ARMS),)
    assert trace["energy"].shape == (arms.size, 100 // mfl_torus.EVERY + 1)
    noisy = arms < len(mfl_torus.TAUS)
    assert np.isfinite(trace["energy"]).all() and np.isfinite(trace["entropy"][noisy]).all()
    assert trace["energy"].min() >= -1e-6  # ½MMD² ≥ 0


def test_gibbs_grid_solves_the_mean_field_kuramoto_fixed_point():
    """k = a cos(x - x'), F = b cos x: ρ* ∝ e^{κ cos x} with κ = (b - a m)/τ, m = I₁(κ)/I₀(κ) (brentq), and
    F_τ(ρ*) = C_f - b m + ½ a m² + τ(κ m - log(4π² I₀(κ))) in closed form."""
    from scipy.optimize import brentq
    from scipy.special import i0e, i1e

    from experiments.beyond import gibbs_grid

    a, b, tau, c_f, size = 1.5, 1.0, 0.2, 0.7, 48
    x = gibbs_grid.grid(size)
    f = np.repeat(b * np.cos(x)[:, None], size, axis=1)
    k = np.repeat(a * np.cos(x)[:, None], size, axis=1)
    result = gibbs_grid.solve(f, k, c_f, tau, tol=1e-12)
    kappa = brentq(lambda s: s - (b - a * i1e(s) / i0e(s)) / tau, 0.0, b / tau)
    m = i1e(kappa) / i0e(kappa)
    log_i0 = np.log(i0e(kappa)) + kappa
    exact = np.exp(kappa * np.cos(x) - log_i0) / (4 * np.pi**2)
    np.testing.assert_allclose(result.density, np.repeat(exact[:, None], size, axis=1), rtol=1e-9)
    free_energy = c_f - b * m + 0.5 * a * m**2 + tau * (kappa * m - np.log(4 * np.pi**2) - log_i0)
    np.testing.assert_allclose(result.free_energy, free_energy, rtol=1e-10)


def test_gibbs_grid_on_the_torus_study_converges_in_grid_size_and_samples_its_law():
    from experiments.beyond import gibbs_grid

    atoms = np.random.default_rng(0).uniform(0, 2 * np.pi, (4, 2))
    fine, finer = (gibbs_grid.solve(*gibbs_grid.torus_mmd_terms(atoms, g), 0.3, tol=1e-12) for g in (64, 96))
    assert abs(fine.free_energy - finer.free_energy) < 1e-10  # spectral accuracy (G = 32 is off by 6e-7)
    draws = gibbs_grid.sample(np.random.default_rng(1), fine.density, 20_000)
    # the law's first Fourier moment E cos(x) against the grid's (Monte-Carlo error ~ 1/√20 000 ≈ 0.007)
    moment = np.sum(np.cos(gibbs_grid.grid(64))[:, None] * fine.density) * (2 * np.pi / 64) ** 2
    assert abs(np.mean(np.cos(draws[:, 0])) - moment) < 5 * 0.71 / np.sqrt(20_000)


@pytest.mark.slow  # about 70 s: five programs compiled
def test_digits_study_smoke_compares_in_three_units_both_directions():
    from experiments.beyond import digits_study

    traces = digits_study.main(["--smoke"])
    assert set(traces) == set(digits_study.DYNAMICS)
    rows = digits_study.comparison_rows(traces, 40)
    arms, units = len(digits_study.DYNAMICS) - 1, len(digits_study.UNITS)
    assert len(rows) == arms * units * len(digits_study.CHECKPOINTS) * 2
    assert {r["direction"] for r in rows} == set(mfbd.stats.DIRECTIONS)
    costs = digits_study.cost_rows(traces, 40)
    assert all(r["passes_per_step"] == 1 and r["wall_per_step_ms"] > 0 for r in costs)
    assert np.isfinite([r["test_acc"] for r in costs]).all()


@pytest.mark.slow  # four programs compiled
def test_logistic_study_runs_at_another_d():
    from experiments.beyond import logistic

    rows = logistic.run(steps=20, seeds=2, sizes=(16,), d=5, m=8)
    assert [r["arm"] for r in rows] == list(logistic.ARMS) and all(r["d"] == 5 for r in rows)
    assert np.isfinite([[r["train_loss"], r["test_error"], r["margin"]] for r in rows]).all()
