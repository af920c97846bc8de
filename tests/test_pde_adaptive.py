"""Adaptive Δt for the Eulerian solver (mfbd.pde.adaptive): meets its tolerance against the fixed-step
second-order solution at a tight step, records at the requested times, and respects the CFL cap."""

import jax
import numpy as np

import mfbd
import mfbd.pde as pde
from mfbd.adaptive import simulate_adaptive
from mfbd.pde.adaptive import eulerian_adaptive

ALPHA, T = 5.0, 0.5
TIMES = [0.25, 0.5]


def test_meets_its_tolerance_against_the_fixed_step_solution_at_a_tight_step():
    """In float64 (whatever another test left as the default precision)."""
    with jax.enable_x64(True):
        problem = mfbd.problems.gaussian_mixture_1d()
        grid = pde.Grid(("y", "c"), (-4.0, -5.0), (4.0, 5.0), (32, 40))
        start = pde.start_density(grid, "good")
        limit = pde.max_dt(problem, grid, oracle="factorised")
        steps = int(np.ceil(T / (limit / 4)))
        fixed = pde.eulerian_scheme(problem, grid, T / steps, ALPHA, oracle="factorised", order=2)
        reference = mfbd.simulate(jax.random.key(0), fixed, fixed.init(start), steps, record_every=steps)[0].energy
        errors, passes = {}, {}
        for rtol in (1e-3, 1e-5):
            scheme = eulerian_adaptive(problem, grid, ALPHA, rtol=rtol, atol=rtol / 100, oracle="factorised")
            a, trace = simulate_adaptive(jax.random.key(0), scheme, scheme.init(start), TIMES)
            np.testing.assert_array_equal(trace["time"], TIMES)
            np.testing.assert_allclose(trace["mass"], 1.0, rtol=1e-12)
            assert float(trace["dt"].max()) <= limit * (1 + 1e-12)  # the CFL cap
            errors[rtol] = abs(float(a.state.energy) / float(reference) - 1)
            passes[rtol] = int(trace["passes"][-1])
            assert errors[rtol] < rtol, (rtol, errors)
        assert passes[1e-5] > passes[1e-3]  # a tighter tolerance takes more steps (rtol = 1e-3 sits at the CFL cap)
