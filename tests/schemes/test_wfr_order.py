"""The order of every deterministic step combination against an exact solution: the WFR flow of the potential
energy, ∂_t μ = ∇·(μ∇U) - α(U - Ū)μ with U = θ²/(2s) (:func:`mfbd.problems.gaussian_laws.wfr_potential_law`),
from N(m₀, C₀) sampled by 64 Gauss–Hermite nodes (the weighted nodes follow the law to rounding, checked
below). |E_Δt(T) - E(T)| against Δt = T/32, T/64, T/128 has slope within 0.2 of ``scheme.order()``."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import mfbd
from experiments.common import fit_power_law
from mfbd.problems.gaussian_laws import wfr_potential_law

S, ALPHA, T, M0, C0 = 1.0, 2.0, 0.5, 0.5, 1.0
STEPS = (32, 64, 128)
NODES, GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(64)
THETA0, W0 = M0 + np.sqrt(C0) * NODES, GH_WEIGHTS / GH_WEIGHTS.sum()
PROBLEM = mfbd.problems.non_interacting(lambda t: t * t / (2 * S), lambda k, n: jax.random.normal(k, (n,)))
COMBINATIONS = {
    "GD euler": (0.0, {}),
    "GD order=2": (0.0, dict(order=2)),
    "B lie euler": (ALPHA, {}),
    "B strang euler": (ALPHA, dict(splitting="strang")),
    "B lie heun fresh": (ALPHA, dict(integrator="heun", gradient="fresh")),
    "B strang heun fresh": (ALPHA, dict(splitting="strang", integrator="heun", gradient="fresh")),
    "B order=2": (ALPHA, dict(order=2)),
}


def exact_energy(alpha):
    m, C = wfr_potential_law(T, M0, C0, S, alpha)
    return (m * m + C) / (2 * S)


def make(alpha, options, dt):
    return mfbd.gradient_flow(PROBLEM, dt, **options) if alpha == 0 else mfbd.reweighting(PROBLEM, dt, alpha, **options)


def final_energies(alpha, options):
    """E(T) at each Δt = T/k of STEPS, compiled once (Δt and the step count traced)."""

    @jax.jit
    def run(dt, steps):
        scheme = make(alpha, options, dt)
        state = scheme.init(jnp.asarray(THETA0))
        state = state._replace(log_weights=jnp.log(jnp.asarray(W0)), energy=jnp.dot(W0, THETA0**2 / (2 * S)))
        final = jax.lax.fori_loop(0, steps, lambda k, s: scheme.step(jax.random.fold_in(jax.random.key(0), k), s)[0],
                                  state)  # fmt: skip
        return final.energy

    return np.array([float(run(T / k, k)) for k in STEPS])


def test_the_law_solves_its_moment_equations_and_the_weighted_nodes_follow_it():
    def rhs(_, y):
        m, C = y
        return [-(1 + ALPHA * C) * m / S, -2 * C / S - ALPHA * C * C / S]

    for t in (0.2, 1.0, 3.0):
        ode = solve_ivp(rhs, (0, t), [M0, C0], rtol=1e-12, atol=1e-12).y[:, -1]
        np.testing.assert_allclose(wfr_potential_law(t, M0, C0, S, ALPHA), ode, rtol=1e-9)
    # the nodes' own exact flow: θ_i(t) = θ_i e^{-t/s}, w_i ∝ w_i exp(-α∫U(θ_i(t))dt) = w_i exp(-αθ_i²(1 - e^{-2T/s})/4)
    decay = np.exp(-2 * T / S)
    w = W0 * np.exp(-ALPHA * THETA0**2 * (1 - decay) / 4)
    energy = np.dot(w / w.sum(), THETA0**2 * decay / (2 * S))
    np.testing.assert_allclose(energy, exact_energy(ALPHA), rtol=1e-12)


@pytest.mark.parametrize("name", list(COMBINATIONS))
def test_combination_meets_its_order_against_the_exact_law(name):
    alpha, options = COMBINATIONS[name]
    errors = np.abs(final_energies(alpha, options) - exact_energy(alpha))
    order = make(alpha, options, 0.1).order()
    slope = fit_power_law([T / k for k in STEPS], errors).exponent
    assert abs(slope - order) < 0.2, (name, order, slope, errors)
