"""One contract for every scheme: jit, vmap over keys, determinism, dtypes,
finiteness, fixed n, normalised weights, no re-tracing."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import mfbd
from mfbd.problems import gaussian_mixture_1d, student_teacher

N = 16
SCHEMES = {
    "gradient_flow": lambda p: mfbd.gradient_flow(p, 0.01),
    "gradient_flow-noise": lambda p: mfbd.gradient_flow(p, 0.01, noise=0.01),
    "birth_death": lambda p: mfbd.birth_death(p, 0.01, 5.0),
    "birth_death-notebook": lambda p: mfbd.birth_death(
        p, 0.01, 5.0, rates="uncentred", probability="linear", quench_after=5
    ),
    "birth_death-pairing": lambda p: mfbd.birth_death(p, 0.01, 5.0, control="pairing"),
    "birth_death-fill_deficit": lambda p: mfbd.birth_death(p, 0.01, 5.0, prior="fill_deficit", rates="uncentred"),
    "birth_death-replace_killed": lambda p: mfbd.birth_death(p, 0.01, 5.0, prior="replace_killed"),
    "reweighting": lambda p: mfbd.reweighting(p, 0.01, 5.0),
    "reweighting-resample": lambda p: mfbd.reweighting(p, 0.01, 50.0, resample_below=0.9),
    "birth_death-schedule-strang-fresh": lambda p: mfbd.birth_death(
        p, 0.01, optax.cosine_decay_schedule(50.0, 3), splitting="strang", gradient="fresh", prior="replace_killed"
    ),
    "reweighting-strang-heun-fresh": lambda p: mfbd.reweighting(
        p, 0.01, optax.exponential_decay(5.0, 1, 0.5), splitting="strang", integrator="heun", gradient="fresh"
    ),
    "reweighting-max_transfer": lambda p: mfbd.reweighting(p, 0.01, 5e3, max_transfer=0.1, noise=1e-3),
}
PROBLEMS = {
    "gaussian_mixture_1d": lambda: gaussian_mixture_1d(),
    "student_teacher-data": lambda: student_teacher(
        jax.random.key(0), dim=5, teacher_width=2, mode="data", batch_size=32
    ),
}


def _start(problem, key, dtype):
    return jax.tree_util.tree_map(lambda a: a.astype(dtype), problem.init_particles(key, N))


CASES = [(s, d, "gaussian_mixture_1d") for s in SCHEMES for d in ("f32", "f64")]
CASES += [(s, "f32", "student_teacher-data") for s in ("gradient_flow", "birth_death-pairing", "reweighting-resample")]


@pytest.mark.parametrize("scheme_name, dtype, problem_name", CASES)
def test_scheme_contract(scheme_name, dtype, problem_name):
    dtype = {"f32": jnp.float32, "f64": jnp.float64}[dtype]
    problem = PROBLEMS[problem_name]()
    scheme = SCHEMES[scheme_name](problem)
    keys = jax.random.split(jax.random.key(1), 4)
    states = jax.vmap(lambda k: scheme.init(_start(problem, k, dtype)))(keys)
    step = jax.jit(jax.vmap(scheme.step))
    for k in range(3):
        step_keys = jax.vmap(lambda key, k=k: jax.random.fold_in(key, k))(keys)
        new, info = step(step_keys, states)
        again, _ = step(step_keys, states)
        chex.assert_trees_all_equal(new, again)  # same key, same result
        states = new
    chex.assert_tree_all_finite((states.particles, states.log_weights, info))
    chex.assert_trees_all_equal_shapes(states.particles, jax.vmap(lambda k: _start(problem, k, dtype))(keys))
    for leaf in jax.tree_util.tree_leaves((states.particles, states.log_weights, states.potential, info.energy)):
        assert leaf.dtype == dtype
    np.testing.assert_allclose(jax.nn.logsumexp(states.log_weights, axis=1), 0.0, atol=1e-5)
    np.testing.assert_allclose(info.ess <= N + 1e-3, True)
    assert states.step.dtype == jnp.int32 and (states.step == 3).all()


@pytest.mark.parametrize(
    "scheme_name", ["gradient_flow", "birth_death", "reweighting-resample", "reweighting-strang-heun-fresh"]
)
def test_simulate_traces_the_step_once(scheme_name):
    chex.clear_trace_counter()  # counts are kept per function code, across parameters
    problem = gaussian_mixture_1d()
    scheme = SCHEMES[scheme_name](problem)
    counted = mfbd.Scheme(scheme.init, chex.assert_max_traces(scheme.step, n=1))
    state = counted.init(_start(problem, jax.random.key(0), jnp.float64))
    mfbd.simulate(jax.random.key(1), counted, state, 10, record_every=1, chunk_size=5)


def test_scheme_built_inside_jit_and_vmap_with_traced_alpha():
    problem = gaussian_mixture_1d()
    particles = _start(problem, jax.random.key(0), jnp.float64)

    @jax.jit
    def final(alpha, dt):
        schemes = [mfbd.birth_death(problem, dt, alpha), mfbd.reweighting(problem, dt, alpha, splitting="strang")]
        return [mfbd.simulate(jax.random.key(1), s, s.init(particles), 3)[0].energy for s in schemes]

    swept = jax.vmap(final, (0, None))(jnp.asarray([0.0, 5.0]), 0.01)
    for k, alpha in enumerate((0.0, 5.0)):
        direct = final(alpha, 0.01)
        for got, want in zip(swept, direct, strict=True):
            np.testing.assert_allclose(got[k], want, rtol=1e-10)


@pytest.mark.parametrize("build", [lambda p, a: mfbd.birth_death(p, 0.01, a), lambda p, a: mfbd.reweighting(p, 0.01, a),
                                   lambda p, a: mfbd.reweighting(p, 0.01, a, order=2)])  # fmt: skip
def test_a_traced_negative_or_nan_alpha_poisons_every_energy_and_a_valid_one_nothing(build):
    """A traced α is bad at every step or at none: E (the Info rows and the state's) is NaN at every step for
    α < 0 or NaN, and finite for α ≥ 0, with the same values as a concrete α."""
    problem = gaussian_mixture_1d()
    particles = _start(problem, jax.random.key(0), jnp.float64)

    def run(alpha):
        scheme = build(problem, alpha)
        state, trace = mfbd.simulate(jax.random.key(1), scheme, scheme.init(particles), 4)
        return state.energy, trace["energy"]

    final, energies = jax.jit(jax.vmap(run))(jnp.asarray([2.0, -1.0, jnp.nan]))
    assert np.all(np.isfinite(energies[0])) and np.isfinite(final[0])
    assert np.all(np.isnan(energies[1:])) and np.all(np.isnan(final[1:]))
    np.testing.assert_allclose(energies[0], run(2.0)[1], rtol=1e-10)
