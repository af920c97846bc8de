"""The order of every deterministic step combination against an exact solution
(:mod:`experiments.time_order.wfr`: the WFR flow of ∫U dμ for U = θ²/2 from a Gaussian, sampled by weighted
Gauss–Hermite nodes): |E_Δt(T) - E(T)| against Δt = T/32, T/64, T/128 has slope within 0.2 of ``order()``."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from experiments.common import fit_power_law
from experiments.time_order import wfr
from mfbd.problems.gaussian_laws import wfr_potential_law

STEPS = (32, 64, 128)


def test_the_law_solves_its_moment_equations_and_the_weighted_nodes_follow_it():
    s, alpha = wfr.S, wfr.ALPHA

    def rhs(_, y):
        m, C = y
        return [-(1 + alpha * C) * m / s, -2 * C / s - alpha * C * C / s]

    for t in (0.2, 1.0, 3.0):
        ode = solve_ivp(rhs, (0, t), [wfr.M0, wfr.C0], rtol=1e-12, atol=1e-12).y[:, -1]
        np.testing.assert_allclose(wfr_potential_law(t, wfr.M0, wfr.C0, s, alpha), ode, rtol=1e-9)
    # the nodes' own exact flow: θ_i(T) = θ_i e^{-T/s}, w_i ∝ w_i exp(-α∫U(θ_i(t))dt) = w_i exp(-αθ_i²(1 - e^{-2T/s})/4)
    decay = np.exp(-2 * wfr.T / s)
    w = wfr.W0 * np.exp(-alpha * wfr.THETA0**2 * (1 - decay) / 4)
    energy = np.dot(w / w.sum(), wfr.THETA0**2 * decay / (2 * s))
    np.testing.assert_allclose(energy, wfr.exact_energy(alpha), rtol=1e-12)


@pytest.mark.parametrize("name", list(wfr.COMBINATIONS))
def test_combination_meets_its_order_against_the_exact_law(name):
    alpha, options = wfr.COMBINATIONS[name]
    errors = np.abs(wfr.final_energies(alpha, options, STEPS) - wfr.exact_energy(alpha))
    order = wfr.make(alpha, options, 0.1).order()
    slope = fit_power_law([wfr.T / k for k in STEPS], errors).exponent
    assert abs(slope - order) < 0.2, (name, order, slope, errors)
