"""Order in time: Lie + Euler is first order, Strang + Heun (fresh gradient) second
order, for scheme B and the Eulerian PDE solver on experiment 1 at α = 5
(self-convergence against a fine-Δt reference, small sizes)."""

import jax
import numpy as np
import pytest

import mfbd
import mfbd.pde as pde
from mfbd.problems import gaussian_mixture_1d, non_interacting

ALPHA, T = 5.0, 0.25
SECOND = dict(splitting="strang", integrator="heun")


def _slope(energy, dts):
    ref = energy(dts[-1] / 8)
    errors = [abs(energy(dt) - ref) for dt in dts]
    return np.polyfit(np.log(dts), np.log(errors), 1)[0]


def _final(scheme, start, dt):
    steps = round(T / dt)
    return float(mfbd.simulate(jax.random.key(1), scheme, scheme.init(start), steps, record_every=steps)[0].energy)


@pytest.mark.slow
def test_scheme_b_order():
    problem = gaussian_mixture_1d()
    start = problem.init_particles(jax.random.key(0), 50)
    dts = [T / 10, T / 20, T / 40]

    def energy(options):
        return lambda dt: _final(mfbd.reweighting(problem, dt, ALPHA, gradient="fresh", **options), start, dt)

    assert 0.8 < _slope(energy({}), dts) < 1.3
    assert _slope(energy(SECOND), dts) >= 1.8


@pytest.mark.slow
def test_pde_order():
    problem = gaussian_mixture_1d()
    grid = pde.Grid(("y", "c"), (-4.0, -5.0), (4.0, 5.0), (16, 20))
    limit = pde.max_dt(problem, grid, oracle="factorised")
    coarse = T / np.ceil(T / limit)
    dts = [coarse, coarse / 2, coarse / 4]

    def energy(options):
        def run(dt):
            s = pde.eulerian_scheme(problem, grid, dt, ALPHA, limiter="van_leer", oracle="factorised", **options)
            return _final(s, pde.start_density(grid, "good"), dt)

        return run

    assert 0.8 < _slope(energy({}), dts) < 1.3
    assert _slope(energy(SECOND), dts) >= 1.8


def test_sub_cycled_reweighting_equals_the_whole_step_for_a_frozen_potential():
    # V = U(θ) does not depend on μ: the sub-steps compose to the whole frozen-V step exactly.
    problem = non_interacting(lambda t: t + 0.5 * t**2, lambda k, n: jax.random.normal(k, (n,)))
    start = problem.init_particles(jax.random.key(0), 64)
    whole = mfbd.reweighting(problem, 0.5, 20.0, transport=False)
    cycled = mfbd.reweighting(problem, 0.5, 20.0, transport=False, max_transfer=0.05)
    a = mfbd.simulate(jax.random.key(1), whole, whole.init(start), 3)[0]
    b = mfbd.simulate(jax.random.key(1), cycled, cycled.init(start), 3)[0]
    np.testing.assert_allclose(np.exp(b.log_weights), np.exp(a.log_weights), atol=1e-12)
    w0 = jax.nn.softmax(whole.init(start).log_weights)
    assert 0.5 * np.abs(np.exp(a.log_weights) - w0).sum() > 0.05  # the case is stiff enough to sub-cycle
