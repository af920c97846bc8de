"""Tests of the Eulerian mean-field PDE solver (mfbd.pde).

Tolerances at round-off scale with the dtype's machine epsilon, so the file
passes with and without ``jax_enable_x64``.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mfbd
import mfbd.pde as pde
from mfbd.simulate import run_chunk

BOX = dict(lower=(-4.0, -5.0), upper=(4.0, 5.0))


def eps():
    return float(jnp.finfo(jnp.zeros(()).dtype).eps)


def grid_yc(ny, nc):
    return pde.Grid(("y", "c"), BOX["lower"], BOX["upper"], (ny, nc))


def run(scheme, density, num_steps, record_every=1, observe=None):
    return mfbd.simulate(
        jax.random.key(0), scheme, scheme.init(density), num_steps, record_every=record_every, observe=observe
    )


def gaussian_bump(grid, centre, width):
    y, c = np.meshgrid(*grid.axes(), indexing="ij")
    return jnp.asarray(np.exp(-((y - centre[0]) ** 2 + (c - centre[1]) ** 2) / (2 * width**2)))


def non_interacting(U):
    def init(key, n):
        return {"y": jax.random.normal(key, (n,)), "c": jax.random.normal(key, (n,))}

    return mfbd.problems.non_interacting(U, init)


@pytest.fixture(scope="module")
def mixture():
    return mfbd.problems.gaussian_mixture_1d()


# --- grid and initial densities -------------------------------------------------------------------------------


def test_grid_rejects_bad_boxes():
    with pytest.raises(ValueError, match="upper > lower"):
        pde.Grid(("y", "c"), (0, 0), (0, 1), (8, 8))
    with pytest.raises(ValueError, match="at least 3 cells"):
        pde.Grid(("y", "c"), (0, 0), (1, 1), (2, 8))
    with pytest.raises(ValueError, match="two different"):
        pde.Grid(("y", "y"), (0, 0), (1, 1), (8, 8))


def test_grid_names_must_match_the_problem(mixture):
    grid = pde.Grid(("y", "z"), (-1, -1), (1, 1), (8, 8))
    with pytest.raises(ValueError, match="particle keys"):
        pde.grid_oracle(mixture, grid)


def test_start_densities_have_the_paper_moments():
    """Cell averages of U[-2, 2] × N(0, 1) and N(-2, 0.1²) × N(0, 1): mass 1, means and variances."""
    grid = grid_yc(160, 200)
    y, c = np.meshgrid(*grid.axes(), indexing="ij")
    for start, mean_y, var_y in (("good", 0.0, 4.0 / 3.0), ("bad", -2.0, 0.01)):
        w = np.asarray(pde.start_density(grid, start)) * grid.cell_area
        assert abs(w.sum() - 1) < 100 * eps()
        assert abs((w * y).sum() - mean_y) < 1e-6
        assert abs((w * c).sum()) < 1e-6
        # Cell averaging adds h²/12 to the variance of the discretised law (Sheppard's correction).
        h_y, h_c = grid.spacing
        assert abs((w * (y - mean_y) ** 2).sum() - var_y - h_y**2 / 12) < 2e-3 * var_y
        assert abs((w * c**2).sum() - 1 - h_c**2 / 12) < 1e-4


def test_histogram_of_cell_centres_is_the_weight_map():
    grid = grid_yc(10, 12)
    density = pde.start_density(grid, "good")
    w = (density * grid.cell_area).reshape(-1)
    np.testing.assert_allclose(grid.histogram(grid.centres(density.dtype), w), density, rtol=10 * eps())


# --- the oracle on the grid --------------------------------------------------------------------------------------


def test_energy_matches_data_space_quadrature(mixture):
    """E(ρ) from the oracle equals ½∫(f - f_ρ)² dx computed in data space (trapezoid rule in x)."""
    grid = grid_yc(16, 20)
    density = pde.start_density(grid, "good") * (1 + 0.5 * gaussian_bump(grid, (1.0, 1.0), 1.0))
    density = density / grid.mass(density)
    w = (density * grid.cell_area).reshape(-1)
    x = jnp.linspace(-14.0, 14.0, 8001)
    residual = mixture.target(x) - mixture.predict(grid.centres(density.dtype), w, x)
    expected = 0.5 * jnp.trapezoid(residual**2, x)
    for oracle in pde.ORACLES:
        energy = pde.grid_oracle(mixture, grid, oracle).evaluate(density).energy
        assert abs(energy - expected) < 1e-6 * expected + 100 * eps()


def test_output_weight_path_equals_generic_path(mixture):
    """V, ∇V, E, the CFL speeds and 20 solver steps agree between the O(G²) and the factorised paths."""
    grid = grid_yc(16, 20)
    density = pde.start_density(grid, "good") * (1 + gaussian_bump(grid, (0.5, -1.0), 0.8))
    generic = pde.grid_oracle(mixture, grid, "pairwise")
    fast = pde.grid_oracle(mixture, grid, "factorised")
    tol = 1e3 * eps()
    a, b = generic.evaluate(density), fast.evaluate(density)
    np.testing.assert_allclose(a.potential, b.potential, atol=tol)
    for name in ("y", "c"):
        np.testing.assert_allclose(a.grad_potential[name], b.grad_potential[name], atol=tol)
    np.testing.assert_allclose(a.energy, b.energy, rtol=tol)
    np.testing.assert_allclose(generic.speeds, fast.speeds, rtol=tol)

    dt = pde.max_dt(mixture, grid)
    finals = [
        run(pde.eulerian_scheme(mixture, grid, dt, 5.0, oracle=oracle, limiter="van_leer"), density, 20)[0]
        for oracle in pde.ORACLES
    ]
    np.testing.assert_allclose(finals[0].density, finals[1].density, rtol=tol, atol=tol)


def test_the_deprecated_names_are_the_current_ones(mixture):
    """For one release ``pde.solver`` is ``eulerian_scheme`` and ``path=`` (generic, output_weight) is ``oracle=``."""
    grid = grid_yc(8, 10)
    assert pde.solver is pde.eulerian_scheme
    for old, new in zip(pde.PATHS, pde.ORACLES, strict=True):
        assert pde.grid_oracle(mixture, grid, path=old) is pde.grid_oracle(mixture, grid, new)
        assert pde.max_dt(mixture, grid, path=old) == pde.max_dt(mixture, grid, oracle=new)


def test_output_weight_path_rejects_other_problems():
    problem = non_interacting(lambda t: t["y"] ** 2 + t["c"])
    with pytest.raises(ValueError, match="not of that form"):
        pde.grid_oracle(problem, grid_yc(8, 8), "factorised")


def test_data_mode_problems_are_rejected():
    problem = mfbd.problems.from_data(
        lambda x, t: t["c"] * jnp.tanh(x - t["y"]),
        jnp.sin,
        lambda k, n: {"y": jnp.zeros(n), "c": jnp.zeros(n)},
        data=jnp.linspace(-1, 1, 8),
    )
    with pytest.raises(ValueError, match="kernel-mode"):
        pde.grid_oracle(problem, grid_yc(8, 8))


# --- CFL rule ------------------------------------------------------------------------------------------------------


def test_cfl_rule(mixture):
    grid = grid_yc(16, 20)
    limit = pde.max_dt(mixture, grid, oracle="factorised")
    s_y, s_c = pde.grid_oracle(mixture, grid, "factorised").speeds
    h_y, h_c = grid.spacing
    assert math.isclose(limit, 0.5 / (s_y / h_y + s_c / h_c))
    pde.eulerian_scheme(mixture, grid, limit, 5.0, oracle="factorised")
    with pytest.raises(ValueError, match=f"max allowed dt is {limit:.6g}"):
        pde.eulerian_scheme(mixture, grid, 1.01 * limit, 5.0, oracle="factorised")
    with pytest.raises(ValueError, match="cfl must be in"):
        pde.max_dt(mixture, grid, cfl=0.8)
    # Diffusion tightens the rule; pure reaction has none.
    assert pde.max_dt(mixture, grid, tau=0.1, oracle="factorised") < limit
    pde.eulerian_scheme(mixture, grid, 10.0, 5.0, oracle="factorised", transport=False)


def test_face_speeds_stay_below_the_bound(mixture):
    """The a-priori bound s_d holds along a trajectory (it is what makes the rule sufficient)."""
    grid = grid_yc(40, 50)
    oracle = pde.grid_oracle(mixture, grid, "factorised")
    dt = pde.max_dt(mixture, grid, oracle="factorised")
    scheme = pde.eulerian_scheme(mixture, grid, dt, 5.0, oracle="factorised")

    def speeds(state):
        return {f"s{d}": jnp.max(jnp.abs(jnp.diff(state.potential, axis=d))) / grid.spacing[d] for d in (0, 1)}

    _, trace = run(scheme, pde.start_density(grid, "good"), 200, record_every=10, observe=speeds)
    assert np.all(np.asarray(trace["s0"]) <= oracle.speeds[0]) and np.all(np.asarray(trace["s1"]) <= oracle.speeds[1])


# --- conservation and positivity -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start,limiter,tau", [("good", None, 0.0), ("bad", "van_leer", 0.0), ("bad", "minmod", 0.05), ("good", None, 0.05)]
)
def test_mass_is_conserved_and_density_stays_non_negative(mixture, start, limiter, tau):
    grid = grid_yc(40, 50)
    dt = pde.max_dt(mixture, grid, tau=tau, oracle="factorised")
    scheme = pde.eulerian_scheme(mixture, grid, dt, 5.0, tau=tau, limiter=limiter, oracle="factorised")

    def mass_and_min(state):
        return {"mass": grid.mass(state.density), "min": jnp.min(state.density)}

    state, trace = run(scheme, pde.start_density(grid, start), 300, record_every=10, observe=mass_and_min)
    np.testing.assert_allclose(trace["mass"], 1.0, atol=300 * eps())
    assert np.all(np.asarray(trace["min"]) >= 0)
    assert np.all(np.diff(np.asarray(trace["energy"])) <= 10 * eps())  # E decreases (dissipation)


def test_pure_transport_conserves_mass_without_renormalisation():
    """α = 0: the flux differences telescope, so mass is conserved by the transport step alone."""
    grid = grid_yc(20, 24)
    problem = non_interacting(lambda t: jnp.sin(2 * t["y"]) * t["c"] ** 2)
    density = gaussian_bump(grid, (0.0, 0.0), 1.5)
    scheme = pde.eulerian_scheme(problem, grid, pde.max_dt(problem, grid), limiter="van_leer")
    state, trace = run(scheme, density, 200, record_every=20, observe=lambda s: {"mass": grid.mass(s.density)})
    np.testing.assert_allclose(trace["mass"], 1.0, atol=300 * eps())
    assert jnp.min(state.density) >= 0


# --- exact solutions -----------------------------------------------------------------------------------------------


def test_pure_reaction_has_the_exact_exponential_solution():
    """No transport, V = U(θ): ρ_t = e^{-αtU} ρ_0 / ∫e^{-αtU}dρ_0, for any Δt (the reaction factor is exact)."""
    grid = grid_yc(12, 16)
    problem = non_interacting(lambda t: 0.3 * t["y"] ** 2 + jnp.sin(t["c"]))
    rho0 = pde.start_density(grid, "good")
    alpha, dt, steps = 2.0, 0.05, 40
    state, _ = run(pde.eulerian_scheme(problem, grid, dt, alpha, transport=False), rho0, steps)
    y, c = np.meshgrid(*grid.axes(), indexing="ij")
    exact = rho0 * np.exp(-alpha * dt * steps * (0.3 * y**2 + np.sin(c)))
    exact = exact / grid.mass(exact)
    np.testing.assert_allclose(state.density, exact, rtol=1e3 * eps(), atol=1e3 * eps() * float(jnp.max(exact)))


def test_pure_reaction_with_a_constant_potential_is_the_identity():
    grid = grid_yc(12, 16)
    problem = non_interacting(lambda t: 0.7 + 0.0 * t["y"])
    rho0 = pde.start_density(grid, "bad")
    state, trace = run(pde.eulerian_scheme(problem, grid, 0.1, 5.0, transport=False), rho0, 30)
    np.testing.assert_allclose(state.density, rho0, rtol=100 * eps(), atol=100 * eps() * float(jnp.max(rho0)))
    np.testing.assert_allclose(trace["mean_potential"], 0.7, rtol=10 * eps())


def test_constant_velocity_transport_moves_the_centre_of_mass_at_the_right_speed():
    """V = a·y + b·c gives velocity -(a, b). Upwind is a lazy random walk: the centre of mass moves exactly
    at -(a, b) and each variance grows by |u|h(1 - ν) per unit time (ν = |u|Δt/h): first order in h.
    A limiter keeps the speed to O(h) and diffuses less."""
    a, b, t_end = 0.7, -0.4, 1.0
    problem = non_interacting(lambda t: a * t["y"] + b * t["c"])
    growth = {}
    for ny in (20, 40):
        grid = pde.Grid(("y", "c"), (-4.0, -4.0), (4.0, 4.0), (ny, ny))
        steps = math.ceil(t_end / pde.max_dt(problem, grid))
        dt = t_end / steps
        y, c = np.meshgrid(*grid.axes(), indexing="ij")
        rho0 = gaussian_bump(grid, (0.5, -0.5), 0.5)
        for limiter in (None, "van_leer"):
            state, _ = run(pde.eulerian_scheme(problem, grid, dt, limiter=limiter), rho0, steps)
            w0 = np.asarray(rho0) / np.asarray(rho0).sum()
            w = np.asarray(state.density) * grid.cell_area
            shift = np.array([(w * y).sum() - (w0 * y).sum(), (w * c).sum() - (w0 * c).sum()])
            var_growth = np.array(
                [
                    (w * y**2).sum() - (w * y).sum() ** 2 - (w0 * y**2).sum() + (w0 * y).sum() ** 2,
                    (w * c**2).sum() - (w * c).sum() ** 2 - (w0 * c**2).sum() + (w0 * c).sum() ** 2,
                ]
            )
            h = np.asarray(grid.spacing)
            speed = np.abs([a, b])
            nu = speed * dt / h
            if limiter is None:
                np.testing.assert_allclose(shift, [-a * t_end, -b * t_end], atol=1e3 * eps())
                np.testing.assert_allclose(var_growth, speed * h * (1 - nu) * t_end, rtol=1e-6, atol=1e3 * eps())
            else:
                np.testing.assert_allclose(shift, [-a * t_end, -b * t_end], atol=0.05 * h.max())
                assert np.all(var_growth < 0.5 * speed * h * (1 - nu) * t_end)
            growth[ny, limiter] = var_growth
    # Numerical diffusion halves with h (first order) for upwind.
    np.testing.assert_allclose(growth[20, None] / growth[40, None], 2.0, rtol=0.05)


# --- the dissipation identity -----------------------------------------------------------------------------------


def test_dissipation_identity_converges_with_the_grid(mixture):
    """dE/dt = -∫|∇V|²dρ - α∫(V - V̄)²dρ: the mismatch of the upwind solution halves with h (first order)."""
    alpha, t_check = 5.0, 0.5
    errors = []
    for ny, nc in ((20, 25), (40, 50)):
        grid = grid_yc(ny, nc)
        steps = math.ceil(t_check / pde.max_dt(mixture, grid, oracle="factorised"))
        dt = t_check / steps
        scheme = pde.eulerian_scheme(mixture, grid, dt, alpha, oracle="factorised")

        def rates(state, grid=grid):
            transport, reaction = pde.dissipation_rates(state, grid)
            return {"rate": -transport - alpha * reaction}

        _, trace = run(scheme, pde.start_density(grid, "good"), steps + 1, observe=rates)
        energy, rate = np.asarray(trace["energy"]), np.asarray(trace["rate"])
        de_dt = (energy[steps] - energy[steps - 2]) / (2 * dt)  # centred at t = t_check
        errors.append(abs(de_dt - rate[steps - 1]) / abs(rate[steps - 1]))
    assert errors[1] < 0.6 * errors[0] and errors[1] < 0.03, errors


# --- particles against the PDE ---------------------------------------------------------------------------------


def test_gradient_flow_particles_match_the_pde(mixture):
    """GD with n = 500 particles (16 seeds) against the transport PDE at t = 0.5.

    Tolerance: 4 standard errors of the seed mean, plus the PDE grid error (the change from halving h,
    first order), plus twice the O(1/n) bias of E at t = 0, b = (∫K(θ, θ)dρ₀ - ∫∫K dρ₀dρ₀)/(2n).
    The energy decrease E(0) - E(t) has a much smaller seed spread than E(t), which makes it the sharp check.
    """
    n, seeds, dt, t_end = 500, 16, 0.01, 0.5
    pde_energy = {}
    for ny, nc in ((20, 25), (40, 50)):
        grid = grid_yc(ny, nc)
        steps = math.ceil(t_end / pde.max_dt(mixture, grid, oracle="factorised"))
        scheme = pde.eulerian_scheme(mixture, grid, t_end / steps, limiter="van_leer", oracle="factorised")
        state0 = scheme.init(pde.start_density(grid, "good"))
        state, _ = mfbd.simulate(jax.random.key(0), scheme, state0, steps)
        pde_energy[ny] = (float(state0.energy), float(state.energy))
    grid_error = max(abs(pde_energy[20][i] - pde_energy[40][i]) for i in (0, 1))
    e0_pde, e_pde = pde_energy[40]

    keys = jax.random.split(jax.random.key(2024), seeds)
    particles = jax.vmap(lambda k: mixture.init_particles(k, n))(keys)
    particles = jax.tree_util.tree_map(lambda a: a.astype(jnp.float32), particles)  # float32 halves the O(n²) cost
    scheme = mfbd.gradient_flow(mixture, dt)
    states = jax.jit(jax.vmap(scheme.init))(particles)
    observe = _particle_energy(mixture)
    _, trace = jax.vmap(run_chunk(scheme, 1, round(t_end / dt), observe))(keys, states)
    e_n, e0_n = np.asarray(trace["E"][:, -1]), np.asarray(states.energy)

    bias = 0.5 * (1.0 / math.sqrt(2 * math.pi * 1.0)) * 1.0 / n  # c² g₁(0) averaged over c ~ N(0, 1); E[c] = 0
    sem = np.std(e0_n - e_n, ddof=1) / math.sqrt(seeds)
    assert abs(np.mean(e0_n - e_n) - (e0_pde - e_pde)) < 4 * sem + grid_error + 2 * bias
    sem = np.std(e_n, ddof=1) / math.sqrt(seeds)
    assert abs(np.mean(e_n) - e_pde) < 4 * sem + grid_error + 2 * bias


def _particle_energy(problem):
    def observe(state):
        return {"E": problem.energy(state.particles, jax.nn.softmax(state.log_weights))}

    return observe
