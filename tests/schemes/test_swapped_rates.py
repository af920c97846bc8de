"""The swapped-sign ablation (``rates="swapped"``, β = -V): the ICML notebook's defect, checked against the
expected event counts of one step and against the uncentred reaction on the negated potential."""

import jax
import jax.numpy as jnp
import numpy as np

import mfbd
from mfbd.config import read
from mfbd.problems import non_interacting

N, SEEDS, DT, ALPHA = 200, 200, 0.01, 30.0


def _problem(sign=1.0):
    return non_interacting(lambda t: sign * (t + 0.5 * t**2), lambda k, n: jax.random.normal(k, (n,)))


def test_one_step_kills_where_v_is_negative_and_duplicates_where_positive():
    # Frozen positions, linear probabilities p_i = αΔt|V_i|: E[killed] = Σ_{V_i<0} p_i, E[born] = Σ_{V_i>0} p_i,
    # each a sum of independent Bernoulli events (variance Σ p(1-p)); the mean over SEEDS steps within 4 SE.
    problem = _problem()
    scheme = mfbd.birth_death(problem, DT, ALPHA, rates="swapped", probability="linear", control="pairing",
                              transport=False)  # fmt: skip
    state = scheme.init(problem.init_particles(jax.random.key(0), N))
    v = np.asarray(state.potential)
    p = np.minimum(1.0, ALPHA * DT * np.abs(v))
    keys = jax.random.split(jax.random.key(1), SEEDS)
    _, info = jax.jit(jax.vmap(scheme.step, (0, None)))(keys, state)
    for counts, units in ((info.killed, v < 0), (info.born, v > 0)):
        expected = p[units].sum()
        se = np.sqrt((p * (1 - p))[units].sum() / SEEDS)
        assert units.sum() > 20 and expected > 2
        assert abs(np.mean(np.asarray(counts)) - expected) < 4 * se, (counts.mean(), expected, se)


def test_swapped_reaction_is_the_uncentred_reaction_on_minus_v():
    # Without transport the swapped step on V equals the uncentred step on -V with the same key, exactly
    # (exponential probabilities here, linear in the count test).
    start = _problem().init_particles(jax.random.key(2), N)
    runs = []
    for sign, rates in ((1.0, "swapped"), (-1.0, "uncentred")):
        scheme = mfbd.birth_death(_problem(sign), DT, ALPHA, rates=rates, control="pairing", transport=False)
        state, info = jax.jit(scheme.step)(jax.random.key(3), scheme.init(start))
        runs.append((state.particles, info.killed, info.born))
    (a, ka, ba), (b, kb, bb) = runs
    assert int(ka) > 0 and int(ba) > 0
    np.testing.assert_array_equal(a, b)
    assert (int(ka), int(ba)) == (int(kb), int(bb))


def test_swapped_keeps_the_transport():
    # With transport, a step at α = 0 is gradient flow exactly; at α > 0 every unit is a copy of a transported one.
    problem = _problem()
    start = problem.init_particles(jax.random.key(4), N)
    gd = mfbd.gradient_flow(problem, DT)
    moved, _ = jax.jit(gd.step)(jax.random.key(5), gd.init(start))
    swapped = mfbd.birth_death(problem, DT, ALPHA, rates="swapped", probability="linear", control="pairing")
    state, info = jax.jit(swapped.step)(jax.random.key(5), swapped.init(start))
    assert int(info.killed) > 0
    assert np.isin(np.asarray(state.particles), np.asarray(moved.particles)).all()


def test_config_reaches_the_swapped_arm():
    config = read("exp2_icml_gaussian", ["run.steps=100"])
    arms = dict(config.arms)
    assert arms["bd_swapped"].rates == "swapped" and arms["bd"].rates == "uncentred"
    assert config.problem.inputs == "gaussian"
    assert jnp.dtype(config.run.dtype) == jnp.float32
