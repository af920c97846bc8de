"""The exact Gaussian laws of mfbd.problems.gaussian_laws against independent solutions: an ODE
solve of the moment equations (scipy), the nonlinear PDE on a grid (no Gaussian assumption), and
the splitting orders."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import mfbd
from mfbd.problems import gaussian, sampling
from mfbd.problems.gaussian_laws import (
    kde_langevin_law,
    kde_langevin_rhs,
    kde_stationary_covariance,
    scheme_a_grid_law,
    split_law,
    wfr_law,
)
from mfbd.simulate import run_chunk

M_PI, C_PI, M0, C0 = 0.5, 2.0, 3.0, 0.25


def _wfr_ode(t, alpha):
    def rhs(_, y):
        m, C = y
        return [-(1 + alpha * C) * (m - M_PI) / C_PI, 2 - 2 * C / C_PI + alpha * C * (1 - C / C_PI)]

    return solve_ivp(rhs, (0, t), [M0, C0], rtol=1e-12, atol=1e-12).y[:, -1]


@pytest.mark.parametrize("alpha", [1.0, 0.3])
def test_wfr_law_solves_the_moment_equations(alpha):
    """dm/dt = -(1 + αC)(m - m_π)/C_π, dC/dt = 2 - 2C/C_π + αC(1 - C/C_π): the W and FR moment
    equations added (module docstring), integrated by scipy."""
    for t in (0.3, 1.3, 4.0):
        np.testing.assert_allclose(wfr_law(t, M0, C0, M_PI, C_PI, alpha), _wfr_ode(t, alpha), rtol=1e-9)
    np.testing.assert_allclose(wfr_law(50.0, M0, C0, M_PI, C_PI, alpha), (M_PI, C_PI), rtol=1e-12)
    m, C = wfr_law(0.7, M0, C_PI, M_PI, C_PI, alpha)  # C₀ = C_π: the variance stays, the mean decays
    np.testing.assert_allclose((m, C), (M_PI + (M0 - M_PI) * np.exp(-(1 + alpha * C_PI) * 0.7 / C_PI), C_PI))


def test_wfr_law_is_the_formula_of_issue_25_at_alpha_one():
    t = np.linspace(0.1, 3.0, 7)
    C = C_PI + 1 / ((1 / (C0 - C_PI) + 1 / (C_PI + 2)) * np.exp((1 + 2 / C_PI) * t) - 1 / (C_PI + 2))
    m = M_PI + (M0 - M_PI) * np.exp(t / C_PI) * (C - C_PI) / (C0 - C_PI)
    np.testing.assert_allclose(wfr_law(t, M0, C0, M_PI, C_PI), (m, C), rtol=1e-12)


def test_lie_and_strang_splittings_converge_at_orders_one_and_two():
    """Exact W and FR sub-flows composed over τ = t/steps: the fitted log-log slopes of the error
    against wfr_law are 1 (Lie) and 2 (Strang)."""
    t, exact = 1.5, np.array(wfr_law(1.5, M0, C0, M_PI, C_PI))
    steps = np.array([16, 32, 64, 128])
    for splitting, order in (("lie", 1.0), ("strang", 2.0)):
        err = [np.abs(np.array(split_law(t, s, splitting, M0, C0, M_PI, C_PI)) - exact).max() for s in steps]
        slope = np.polyfit(np.log(t / steps), np.log(err), 1)[0]
        assert abs(slope - order) < 0.05, (splitting, slope, err)
    lie = np.abs(np.array(split_law(t, 128, "lie", M0, C0, M_PI, C_PI)) - exact).max()
    assert 1e-4 < lie < 0.05  # the splitting error is real and small


def test_kde_stationary_covariance_solves_the_matrix_equation():
    sigma = np.array([[1.0, 0.6], [0.6, 2.0]])
    for h in (0.5, 0.25):
        C = kde_stationary_covariance(sigma, 1.0, h)
        _, dC = kde_langevin_rhs(np.zeros(2), C, sigma, 1.0, h)
        np.testing.assert_allclose(dC, 0.0, atol=1e-12)
        assert np.all(np.linalg.eigvalsh(sigma - C) > 0)  # narrower than π in every direction
        _, C_late = kde_langevin_law(10.0, [3.0, 3.0], np.eye(2) / 4, sigma, 1.0, h, steps_per_unit=100)
        np.testing.assert_allclose(C_late, C, atol=1e-9)  # the flow from the study's start goes there
    np.testing.assert_allclose(kde_stationary_covariance(1.0, 1.0, 0.5), 0.93277, atol=1e-5)  # issue 25's 0.9328
    np.testing.assert_allclose(kde_stationary_covariance(sigma, 1.0, 0.0), sigma)


def test_kde_langevin_law_matches_scipy_and_the_mean_equation():
    sigma = np.array([[1.0, 0.6], [0.6, 2.0]])

    def rhs(_, y):
        dm, dC = kde_langevin_rhs(y[:2], y[2:].reshape(2, 2), sigma, 0.7, 0.4)
        return np.concatenate([dm, dC.ravel()])

    y0 = np.concatenate([[3.0, -1.0], (np.eye(2) / 4).ravel()])
    ref = solve_ivp(rhs, (0, 1.1), y0, rtol=1e-12, atol=1e-12).y[:, -1]
    m, C = kde_langevin_law(1.1, [3.0, -1.0], np.eye(2) / 4, sigma, 0.7, 0.4)
    np.testing.assert_allclose(m, ref[:2], atol=1e-10)
    np.testing.assert_allclose(C, ref[2:].reshape(2, 2), atol=1e-10)


def test_grid_solution_of_the_pde_converges_to_the_gaussian_law():
    """The derivation, checked without assuming Gaussianity: scheme A's n = ∞ recursion on a grid
    at Δt and Δt/2 approaches the moment ODE at first order in Δt (σ = 1, α = 1, h = 0.5, from
    N(3, 1/4)), at t = 1 (transient: the mean obeys dm/dt = -(1 + αC)m) and t = 6 (stationary)."""
    laws = {t: kde_langevin_law(t, [3.0], [[0.25]], 1.0, 1.0, 0.5) for t in (1.0, 6.0)}
    exact = np.array([[laws[t][0][0], laws[t][1][0, 0]] for t in (1.0, 6.0)])
    errors = []
    for dt in (0.02, 0.01):
        grid = scheme_a_grid_law(dt, round(6 / dt), 0.5)
        errors.append(np.abs(grid[[round(1 / dt) - 1, round(6 / dt) - 1]] - exact).ravel())
    np.testing.assert_allclose(exact[1, 1], 0.93277, atol=2e-5)
    assert errors[1].max() < 0.01
    ratio = errors[0] / errors[1]
    assert np.all((ratio > 1.7) & (ratio < 2.3)), ratio  # first order in Δt: the limit is the ODE's


def _particle_moments(n, seeds, h, steps, m0, v0, leave_one_out=False, average_from=None):
    """Birth–death Langevin (scheme A, "pde", α = 1, Δt = 0.01) on π = N(0, 1) from N(m0, v0):
    per seed, the particles' mean and variance at the last step (or averaged over the records
    after ``average_from`` steps)."""
    target = gaussian(dim=1, mean=[0.0], covariance=[[1.0]], init_mean=[m0], init_covariance=[[v0]])
    scheme = mfbd.birth_death(sampling(target, bandwidth=h, leave_one_out=leave_one_out), 0.01, 1.0, noise=1.0)
    keys = jax.random.split(jax.random.key(21), seeds)
    states = jax.jit(jax.vmap(lambda k: scheme.init(target.init_particles(k, n))))(keys)
    first = average_from or steps
    states, _ = jax.jit(jax.vmap(run_chunk(scheme, 1, first, lambda s: {})))(keys, states)

    def moments(state):
        x = state.particles[:, 0]
        return {"mean": jnp.mean(x), "var": jnp.var(x)}

    if average_from is None:
        return {k: np.asarray(v) for k, v in jax.vmap(moments)(states).items()}
    later = jax.vmap(lambda k: jax.random.fold_in(k, 1))(keys)
    _, trace = jax.jit(jax.vmap(run_chunk(scheme, (steps - first) // 10, 10, moments)))(later, states)
    return {k: np.asarray(v).mean(axis=1) for k, v in trace.items()}


@pytest.mark.slow
def test_particle_mean_follows_the_mean_field_transient():
    """n = 400, 8 seeds, h = 0.5, from N(3, 1/4): at t = 1 the mean (dm/dt = -(1 + αC)m) and the variance
    of the particles agree with scheme A's n = ∞ law (the grid recursion, Δt = 0.01) within 4 standard
    errors over seeds; plain Langevin's mean e^{-t}·3 = 1.10 is far outside (the reaction is seen)."""
    seeds = 8
    got = _particle_moments(400, seeds, 0.5, 100, 3.0, 0.25)
    law = scheme_a_grid_law(0.01, 100, 0.5)[-1]
    for k, key in enumerate(("mean", "var")):
        se = got[key].std(ddof=1) / np.sqrt(seeds)
        assert abs(got[key].mean() - law[k]) <= 4 * se, (key, got[key].mean(), law[k], se)
    assert abs(got["mean"].mean() - 3 * np.exp(-1.0)) > 20 * got["mean"].std(ddof=1) / np.sqrt(seeds)


@pytest.mark.slow
def test_particle_stationary_variance_is_the_smoothed_mean_field_one():
    """n = 1000, 8 seeds, h = 0.5, started at π: the variance averaged over t ∈ (2, 4] agrees with the n = ∞
    law's (0.9356 at Δt = 0.01; 0.9328 for Δt → 0) within 4 standard errors, and is below π's 1 by more
    than 4: the smoothing bias C* < σ of the mean-field law, not a finite-n effect."""
    seeds = 8
    got = _particle_moments(1000, seeds, 0.5, 400, 0.0, 1.0, average_from=200)["var"]
    law = scheme_a_grid_law(0.01, 600, 0.5, m0=0.0, v0=1.0)[-1, 1]
    se = got.std(ddof=1) / np.sqrt(seeds)
    assert abs(got.mean() - law) <= 4 * se, (got.mean(), law, se)
    assert got.mean() < 1.0 - 4 * se
