"""Rate schedules, traced hyperparameters, fresh gradients, splitting and
integrator options, lineages and the init checks."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import mfbd
from mfbd.problems import gaussian_mixture_1d
from mfbd.schemes.base import State, gather_units, lineage_counts, new_lineages, uniform_log_weights
from mfbd.schemes.schedules import check_schedule

N, DT = 32, 0.01


def _start(problem, n=N, seed=0):
    return problem.init_particles(jax.random.key(seed), n)


def _run(scheme, particles, steps, state=None):
    state = scheme.init(particles) if state is None else state
    return mfbd.simulate(jax.random.key(1), scheme, state, steps)


@pytest.mark.parametrize("make", [mfbd.birth_death, mfbd.reweighting])
def test_constant_schedule_equals_the_number(make):
    problem = gaussian_mixture_1d()
    a, _ = _run(make(problem, DT, 5.0), _start(problem), 8)
    b, _ = _run(make(problem, DT, optax.constant_schedule(5.0)), _start(problem), 8)
    chex.assert_trees_all_equal(a, b)


def test_quench_after_is_a_schedule():
    problem = gaussian_mixture_1d()
    quenched, tq = _run(mfbd.birth_death(problem, DT, 50.0, quench_after=5), _start(problem), 10)
    schedule = optax.piecewise_constant_schedule(50.0, {5: 0.0})
    scheduled, ts = _run(mfbd.birth_death(problem, DT, schedule), _start(problem), 10)
    chex.assert_trees_all_equal(quenched, scheduled)
    assert int(tq["killed"][:5].sum()) > 0 and int(tq["killed"][5:].sum()) == 0


def test_schedule_resumes_bit_identically():
    problem = gaussian_mixture_1d()
    scheme = mfbd.birth_death(problem, DT, optax.cosine_decay_schedule(50.0, 12))
    whole, _ = _run(scheme, _start(problem), 12)
    half, _ = _run(scheme, _start(problem), 6)
    resumed, _ = _run(scheme, None, 6, state=half)
    chex.assert_trees_all_equal(whole, resumed)


def test_scheme_built_inside_vmap_and_jit_with_traced_hyperparameters():
    problem = gaussian_mixture_1d()
    particles = _start(problem)
    alphas = jnp.asarray([0.0, 5.0, 50.0])

    def final_energy(alpha, dt, noise, threshold):
        scheme = mfbd.reweighting(problem, dt, alpha, noise=noise, resample_below=threshold)
        state, trace = mfbd.simulate(jax.random.key(1), scheme, scheme.init(particles), 5)
        return state.energy, trace["ess"][-1]

    swept = jax.jit(jax.vmap(final_energy, (0, None, None, None)))(alphas, DT, 0.0, 0.5)
    for i, alpha in enumerate(alphas):
        scheme = mfbd.reweighting(problem, DT, float(alpha), resample_below=0.5)
        state, trace = mfbd.simulate(jax.random.key(1), scheme, scheme.init(particles), 5)
        np.testing.assert_allclose(swept[0][i], state.energy, rtol=1e-10)
        np.testing.assert_allclose(swept[1][i], trace["ess"][-1], rtol=1e-10)
    bd = jax.jit(jax.vmap(lambda a: _run(mfbd.birth_death(problem, DT, a, noise=1e-3), particles, 3)[0].energy))
    assert np.all(np.isfinite(bd(alphas)))


def test_a_negative_schedule_value_poisons_the_run_and_the_host_check_names_the_step():
    problem = gaussian_mixture_1d()
    schedule = optax.linear_schedule(1.0, -1.0, 10)
    state, trace = _run(mfbd.reweighting(problem, DT, schedule), _start(problem), 10)
    assert np.all(np.isfinite(trace["energy"][:6])) and np.isnan(trace["energy"][-1])
    with pytest.raises(ValueError, match="at step 6"):
        check_schedule(schedule, 10)
    check_schedule(optax.cosine_decay_schedule(1.0, 10), 20)


@pytest.mark.parametrize("make", [mfbd.birth_death, mfbd.reweighting])
def test_fresh_gradient_with_alpha_zero_is_gradient_flow(make):
    problem = gaussian_mixture_1d()
    reference, _ = _run(mfbd.gradient_flow(problem, DT), _start(problem), 10)
    fresh, _ = _run(make(problem, DT, 0.0, gradient="fresh"), _start(problem), 10)
    # equal up to round-off: the extra pass changes how XLA fuses the step (differences ~1e-17)
    chex.assert_trees_all_close(fresh.particles, reference.particles, rtol=1e-12, atol=1e-14)
    chex.assert_trees_all_close(fresh.potential, reference.potential, rtol=1e-12, atol=1e-14)


def test_fresh_gradient_belongs_to_the_reacted_measure():
    problem = gaussian_mixture_1d()
    state, _ = _run(mfbd.reweighting(problem, DT, 50.0, gradient="fresh"), _start(problem), 3)
    v, grad = problem.potential(state.particles, jax.nn.softmax(state.log_weights))
    np.testing.assert_allclose(state.potential, v, rtol=1e-12)
    np.testing.assert_allclose(state.grad_potential["y"], grad["y"], rtol=1e-12)


def test_heun_is_second_order_for_gradient_flow():
    problem = gaussian_mixture_1d()
    particles, t = _start(problem), 0.4

    def final(dt, integrator):
        return _run(mfbd.gradient_flow(problem, dt, integrator=integrator), particles, round(t / dt))[0].particles

    ref = final(t / 400, "heun")
    errors = {
        i: [float(jnp.max(jnp.abs(final(t / k, i)["y"] - ref["y"]))) for k in (10, 20)] for i in ("euler", "heun")
    }
    assert 0.8 < np.log2(errors["euler"][0] / errors["euler"][1]) < 1.2
    assert 1.8 < np.log2(errors["heun"][0] / errors["heun"][1]) < 2.2


def test_lineage_counts_on_a_hand_made_case():
    ids = jnp.asarray([7, 3, 7, 1, 3, 7], jnp.int32)
    w = jnp.asarray([0.1, 0.2, 0.3, 0.0, 0.15, 0.25])
    count, effective = lineage_counts(ids, w)
    # lineage 7: 0.65, lineage 3: 0.35, lineage 1: 0 (no mass, not counted)
    assert int(count) == 2
    np.testing.assert_allclose(effective, 1.0 / (0.65**2 + 0.35**2), rtol=1e-12)
    count, effective = lineage_counts(ids, jnp.full(6, 1 / 6))
    assert int(count) == 3
    np.testing.assert_allclose(effective, 1.0 / ((3 / 6) ** 2 + (2 / 6) ** 2 + (1 / 6) ** 2), rtol=1e-12)


def test_lineages_follow_copies_and_newborns():
    n = 4
    particles = jnp.arange(n, dtype=jnp.float64)
    state = State(particles, uniform_log_weights(n, jnp.float64), particles, particles, jnp.zeros(()),
                  jnp.zeros((), jnp.int32), (), jnp.arange(n, dtype=jnp.int32), jnp.asarray(n, jnp.int32))  # fmt: skip
    copied = gather_units(state, jnp.asarray([0, 0, 2, 2]))
    np.testing.assert_array_equal(copied.lineage, [0, 0, 2, 2])
    born = new_lineages(copied, jnp.asarray([False, True, False, True]))
    np.testing.assert_array_equal(born.lineage, [0, 4, 2, 5])
    assert int(born.next_lineage) == 6


@pytest.mark.parametrize("options", [dict(), dict(control="pairing"), dict(prior="replace_killed")])
def test_scheme_lineages_are_exact_copies_or_fresh(options):
    problem = gaussian_mixture_1d()
    scheme = mfbd.birth_death(problem, DT, 200.0, transport=False, **options)
    state, trace = _run(scheme, _start(problem), 20)
    ids, y = np.asarray(state.lineage), np.asarray(state.particles["y"])
    for lineage in np.unique(ids):  # no transport: a lineage is exact copies of one unit
        assert np.unique(y[ids == lineage]).size == 1
    assert int(trace["killed"].sum()) > 0
    born_from_prior = int(trace["born"].sum()) if options.get("prior") else 0
    assert int(state.next_lineage) == N + born_from_prior
    _, info = scheme.step(jax.random.key(3), state)
    assert int(info.lineages) <= np.unique(ids).size + N  # counted after one more step
    np.testing.assert_array_equal(int(lineage_counts(state.lineage, jax.nn.softmax(state.log_weights))[0]),
                                  np.unique(ids).size)  # fmt: skip


@pytest.mark.parametrize("make", [mfbd.gradient_flow, lambda p, dt, **k: mfbd.reweighting(p, dt, 5.0, **k)])
def test_strang_and_heun_run_and_keep_the_contract(make):
    problem = gaussian_mixture_1d()
    for options in (dict(splitting="strang"), dict(integrator="heun", noise=1e-3), dict(gradient="fresh")):
        state, trace = _run(make(problem, DT, **options), _start(problem), 4)
        chex.assert_tree_all_finite((state.particles, trace))
        assert int(state.step) == 4


def test_bad_options_and_particles_give_one_line_errors():
    problem = gaussian_mixture_1d()
    with pytest.raises(ValueError, match="unknown gradient 'new'"):
        mfbd.reweighting(problem, DT, 1.0, gradient="new")
    with pytest.raises(ValueError, match="unknown splitting"):
        mfbd.birth_death(problem, DT, 1.0, splitting="strange")
    with pytest.raises(ValueError, match="integrator='heun' needs optimizer=None"):
        mfbd.gradient_flow(problem, DT, integrator="heun", optimizer=optax.sgd(DT))
    with pytest.raises(TypeError, match=r"optax.adam\(lr\)"):
        mfbd.gradient_flow(problem, DT, optimizer="adam")
    scheme = mfbd.reweighting(problem, DT, 1.0)
    good = _start(problem)
    with pytest.raises(ValueError, match="NaN or inf"):
        scheme.init({"y": good["y"].at[3].set(jnp.nan), "c": good["c"]})
    with pytest.raises(ValueError, match="0 units"):
        scheme.init(jax.tree_util.tree_map(lambda a: a[:0], good))
    with pytest.raises(ValueError, match=r"leading axes \[8, 32\]; vmap over seeds"):
        scheme.init(jax.vmap(lambda k: problem.init_particles(k, N))(jax.random.split(jax.random.key(0), 8)))
    with pytest.raises(ValueError, match=r"different leading axes \[31, 32\]"):
        scheme.init({"y": good["y"][:31], "c": good["c"]})
    jax.vmap(scheme.init)(jax.vmap(lambda k: problem.init_particles(k, N))(jax.random.split(jax.random.key(0), 2)))
