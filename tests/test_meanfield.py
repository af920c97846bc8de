"""The mean-field-limit meter at t = 0, where the finite-n bias is known exactly: for i.i.d. units,
E[E(μ_n)] − E(μ₀) = (1/2n)(∫K(θ,θ) dμ₀ − ∬K dμ₀ dμ₀). Experiment 1, good start (y ~ U[−2, 2],
c ~ N(0, 1)): K(θ,θ') = c c' g₁(y − y'), so ∫K(θ,θ) dμ₀ = E[c²] g₁(0) = 1/√(2π), ∬K = E[c]² (...) = 0,
C = 1/(2√(2π)), and E(μ₀) = C_f (∫F dμ₀ = 0 as E[c] = 0)."""

import math

import jax
import numpy as np
import pytest

import mfbd
from mfbd import meanfield
from mfbd.problems import gaussian_mixture_1d
from mfbd.problems.gaussian_mixture import _exact_C_f

jax.config.update("jax_enable_x64", True)


def test_meter_recovers_the_exact_finite_n_bias_at_t0():
    problem = gaussian_mixture_1d()
    meter = meanfield.ladder(problem, mfbd.gradient_flow(problem, 0.01), [8, 16, 32, 64], range(2000), 1)
    c_exact = 0.5 / math.sqrt(2 * math.pi)
    assert meter.energy.shape == (4, 2000, 2) and meter.time[0] == 0.0
    assert meter.c_se[0] < 0.1 * c_exact  # a tight Monte-Carlo bar, from the data
    assert abs(meter.c[0] - c_exact) < 3 * meter.c_se[0]
    assert abs(meter.e_inf[0] - _exact_C_f()) < 3 * meter.e_inf_se[0]


def test_extrapolate_is_exact_on_noiseless_ladders_and_checks_its_input():
    sizes = np.array([10.0, 20.0, 40.0])
    energy = 0.3 + 2.0 / sizes[:, None, None] + np.array([0.0, 1e-3, -1e-3])[None, :, None] / sizes[:, None, None]
    e_inf, se, c, c_se = meanfield.extrapolate(sizes, np.repeat(energy, 2, axis=2))
    np.testing.assert_allclose(e_inf, 0.3, rtol=1e-12)
    np.testing.assert_allclose(c, 2.0, rtol=1e-12)
    with pytest.raises(ValueError, match="at least 2 sizes"):
        meanfield.extrapolate(sizes[:1], energy[:1])
    with pytest.raises(ValueError, match="increasing"):
        meanfield.ladder(gaussian_mixture_1d(), None, [20, 10], range(2), 1)
