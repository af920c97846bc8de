"""Order by construction: every step combination reports ``order()`` and meets it
(fitted slope of log error against log Δt within 0.2), the FSAL Heun step equals
Heun's method written out with an oracle pass at the start of each step, and the
combinations that would lose order are refused."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mfbd
from mfbd.problems import gaussian_mixture_1d, non_interacting

ALPHA, T = 5.0, 0.25
DTS = (T / 16, T / 32, T / 64)
B_COMBOS = [
    dict(gradient=g, splitting=s, integrator=i)
    for g in ("carried", "fresh")
    for s in ("lie", "strang")
    for i in ("euler", "heun")
    if (g, s, i) != ("carried", "strang", "heun")
] + [dict(order=2)]


def _slope(dts, errors):
    return float(np.polyfit(np.log(dts), np.log(errors), 1)[0])


def _final_energies(problem, make, start, dts):
    """E(μ_T) after T/Δt steps for each Δt (of the measure itself, not a carried pass); one compilation."""
    state = make(dts[0]).init(start)

    @jax.jit
    def run(dt, steps):
        scheme = make(dt)
        step = lambda k, s: scheme.step(jax.random.fold_in(jax.random.key(1), k), s)[0]  # noqa: E731
        final = jax.lax.fori_loop(0, steps, step, state)
        return problem.energy(final.particles, jax.nn.softmax(final.log_weights))

    return [float(run(dt, round(T / dt))) for dt in dts]


@functools.cache
def _exp1():
    problem = gaussian_mixture_1d()
    start = problem.init_particles(jax.random.key(0), 40)
    (fine,) = _final_energies(problem, lambda dt: mfbd.reweighting(problem, dt, ALPHA, order=2), start, [DTS[-1] / 16])
    return problem, start, fine


@pytest.mark.parametrize("options", B_COMBOS, ids=lambda o: "-".join(map(str, o.values())))
def test_scheme_b_combination_meets_its_order(options):
    problem, start, fine = _exp1()
    order = mfbd.reweighting(problem, 0.01, ALPHA, **options).order()
    energies = _final_energies(problem, lambda h: mfbd.reweighting(problem, h, ALPHA, **options), start, DTS)
    errors = [abs(e - fine) for e in energies]
    assert abs(_slope(DTS, errors) - order) < 0.2, (order, errors)


@pytest.mark.parametrize("options", [dict(integrator="euler"), dict(integrator="heun"), dict(order=2)])
def test_gradient_flow_meets_its_order(options):
    problem, start, _ = _exp1()
    make = functools.partial(mfbd.gradient_flow, problem, **options)
    (fine,) = _final_energies(problem, functools.partial(mfbd.gradient_flow, problem, order=2), start, [DTS[-1] / 16])
    errors = [abs(e - fine) for e in _final_energies(problem, make, start, DTS)]
    assert abs(_slope(DTS, errors) - make(0.01).order()) < 0.2, errors


# Scheme A, weak order, on fact 1 of the paper: θ ∈ R, U(θ) = θ²/2 (non-interacting,
# no transport), μ_0 = N(0, 1). The reaction ∂_t μ = -α(U - Ū)μ gives μ_T = N(0, 1/(1 + αT)),
# so E(μ_T) = 1/(2(1 + αT)). Many units and few seeds keep the O(1/n) bias and the
# Monte-Carlo error of the mean small against the time error.
A_ALPHA, A_T, A_N, A_SEEDS = 8.0, 0.5, 20_000, 16
A_DTS = (A_T / 4, A_T / 8, A_T / 16)


def _seed_energies(problem, scheme, steps):
    """E(μ_T) of A_SEEDS independent runs, vmapped."""

    def final(seed):
        k_init, k_run = jax.random.split(jax.random.key(seed))
        state = scheme.init(problem.init_particles(k_init, A_N))
        state = jax.lax.fori_loop(0, steps, lambda k, s: scheme.step(jax.random.fold_in(k_run, k), s)[0], state)
        return problem.energy(state.particles, jax.nn.softmax(state.log_weights))

    return jax.jit(jax.vmap(final))(jnp.arange(A_SEEDS))


def _gaussian_problem():
    return non_interacting(lambda t: 0.5 * t**2, lambda k, n: jax.random.normal(k, (n,), jnp.float64))


@pytest.mark.slow
@pytest.mark.parametrize("options", [{}, dict(splitting="strang", integrator="heun", gradient="fresh")], ids=str)
def test_scheme_a_weak_order_against_the_gaussian_closed_form(options):
    problem = _gaussian_problem()
    exact = 1.0 / (2.0 * (1.0 + A_ALPHA * A_T))
    errors, stderrs = [], []
    for dt in A_DTS:
        scheme = mfbd.birth_death(problem, dt, A_ALPHA, transport=False, **options)
        assert scheme.order() == 1
        energies = np.asarray(_seed_energies(problem, scheme, round(A_T / dt)))
        errors.append(abs(energies.mean() - exact))
        stderrs.append(energies.std(ddof=1) / np.sqrt(A_SEEDS))
    # The Monte-Carlo error (plus the O(1/n) bias) must be small against the time
    # error for the slope to mean anything: 3 standard errors below the smallest.
    assert errors[-1] > 3 * stderrs[-1], (errors, stderrs)
    assert abs(_slope(A_DTS, errors) - 1) < 0.2, (errors, stderrs)


def test_fsal_step_equals_heun_with_an_evaluation_at_the_start_of_every_step():
    problem = gaussian_mixture_1d()
    start = problem.init_particles(jax.random.key(0), 24)
    dt, steps = 0.05, 6
    scheme = mfbd.reweighting(problem, dt, ALPHA, order=2)
    state = mfbd.simulate(jax.random.key(1), scheme, scheme.init(start), steps)[0]

    def f(theta, log_w):  # the right-hand side, one oracle pass
        ev = problem.evaluate(theta, jnp.exp(log_w), jax.random.key(0))
        return jax.tree_util.tree_map(jnp.negative, ev.grad_potential), -ALPHA * (
            ev.potential - jnp.exp(log_w) @ ev.potential
        )

    def normalised(log_w):
        return log_w - jax.scipy.special.logsumexp(log_w)

    theta, log_w = start, jnp.full(24, -np.log(24))
    for _ in range(steps):
        g0, r0 = f(theta, log_w)
        theta_star = jax.tree_util.tree_map(lambda t, g: t + dt * g, theta, g0)
        g1, r1 = f(theta_star, normalised(log_w + dt * r0))
        theta = jax.tree_util.tree_map(lambda t, a, b: t + dt / 2 * (a + b), theta, g0, g1)
        log_w = normalised(log_w + dt / 2 * (r0 + r1))
    for name in ("y", "c"):
        np.testing.assert_allclose(state.particles[name], theta[name], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(state.log_weights, log_w, rtol=1e-13, atol=1e-13)


def test_order_two_without_reaction_is_the_heun_integrator_bit_for_bit():
    problem = gaussian_mixture_1d()
    start = problem.init_particles(jax.random.key(0), 16)
    runs = [mfbd.simulate(jax.random.key(1), s, s.init(start), 5)[0].particles for s in (
        mfbd.gradient_flow(problem, 0.02, integrator="heun"),
        mfbd.gradient_flow(problem, 0.02, order=2),
        mfbd.reweighting(problem, 0.02, 0.0, order=2),
    )]  # fmt: skip
    for run in runs[1:]:
        jax.tree_util.tree_map(np.testing.assert_array_equal, run, runs[0])


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: mfbd.reweighting(p, 0.01, 1.0, splitting="strang", integrator="heun"), "use gradient='fresh'"),
        (lambda p: mfbd.birth_death(p, 0.01, 1.0, splitting="strang", integrator="heun"), "use gradient='fresh'"),
        (lambda p: mfbd.birth_death(p, 0.01, 1.0, order=2), "order=2 is available for gradient_flow and reweighting"),
        (lambda p: mfbd.reweighting(p, 0.01, 1.0, order=3), "order must be 1 or 2"),
        (lambda p: mfbd.reweighting(p, 0.01, 1.0, order=2, splitting="strang"), "drop splitting='strang'"),
        (lambda p: mfbd.reweighting(p, 0.01, 1.0, order=2, noise=1e-3), "needs noise=None/0"),
        (lambda p: mfbd.reweighting(p, 0.01, 1.0, order=2, resample_below=0.5), "needs resample_below"),
        (lambda p: mfbd.gradient_flow(p, 0.01, order=True), "order must be 1 or 2"),
    ],
)
def test_combinations_that_would_lose_order_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make(gaussian_mixture_1d())


def test_reported_orders():
    p = gaussian_mixture_1d()
    assert mfbd.reweighting(p, 0.01, 1.0, order=1).order() == 1
    assert mfbd.reweighting(p, 0.01, 1.0, resample_below=0.5, splitting="strang", integrator="heun",
                            gradient="fresh").order() == 1  # fmt: skip
    assert mfbd.gradient_flow(p, 0.01, integrator="heun", noise=1e-3).order() == 1
    assert mfbd.gradient_flow(p, 0.01, optimizer=__import__("optax").sgd(0.01)).order() is None
    assert mfbd.birth_death(p, 0.01, 1.0, splitting="strang", integrator="heun", gradient="fresh").order() == 1


def test_pde_reports_its_order_and_order_two_is_strang_heun():
    import mfbd.pde as pde

    problem = gaussian_mixture_1d()
    grid = pde.Grid(("y", "c"), (-4.0, -5.0), (4.0, 5.0), (8, 10))
    dt = pde.max_dt(problem, grid, oracle="factorised")
    make = functools.partial(pde.eulerian_scheme, problem, grid, dt, ALPHA, oracle="factorised")
    assert [make(**o).order() for o in ({}, dict(integrator="heun"), dict(splitting="strang"))] == [1, 1, 1]
    assert make(splitting="strang", integrator="heun").order() == make(order=2).order() == 2
    assert make(integrator="heun", transport=False).order() == 2
    a, b = make(order=2), make(splitting="strang", integrator="heun")
    start = pde.start_density(grid, "good")
    sa = mfbd.simulate(jax.random.key(0), a, a.init(start), 3)[0]
    sb = mfbd.simulate(jax.random.key(0), b, b.init(start), 3)[0]
    np.testing.assert_array_equal(sa.density, sb.density)
