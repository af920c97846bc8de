"""Birth-death (scheme A) and reweighting (scheme B) against the exact law of
pure birth-death for a non-interacting potential, α = 0 against gradient flow,
and the bookkeeping of births."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import mfbd
from mfbd.problems import gaussian_mixture_1d, non_interacting
from mfbd.schemes.birth_death import pairing_sources, rebalance_sources

ALPHA, T, DT = 1.0, 1.0, 0.005
N, SEEDS = 1000, 32


def _U(theta):
    return theta + 0.5 * theta**2


# μ₀ = N(0, 1) and U = θ + θ²/2 give μ_t ∝ e^{-αtU} μ₀ = N(-αt/(1+αt), 1/(1+αt)).
EXACT_MEAN = -ALPHA * T / (1 + ALPHA * T)
EXACT_VAR = 1 / (1 + ALPHA * T)


def _problem(shift=0.0):
    return non_interacting(
        lambda t: _U(t) + shift, lambda k, n: jax.random.normal(k, (n,)), lambda k, n: jax.random.normal(k, (n,)) + 3.0
    )


def _law_after_pure_reaction(scheme):
    problem = _problem()
    keys = jax.random.split(jax.random.key(2024), SEEDS)

    def one_seed(key):
        k0, k1 = jax.random.split(key)
        state = scheme.init(problem.init_particles(k0, N))
        state, _ = mfbd.simulate(k1, scheme, state, int(round(T / DT)), record_every=int(round(T / DT)))
        w = jax.nn.softmax(state.log_weights)
        mean = jnp.dot(w, state.particles)
        return mean, jnp.dot(w, (state.particles - mean) ** 2) * N / (N - 1)

    return jax.vmap(one_seed)(keys)


SCHEMES = {
    "A-rebalance": dict(),
    "A-pairing": dict(control="pairing"),
    "A-rebalance-notebook": dict(rates="uncentred", probability="linear"),
    "A-pairing-uncentred": dict(control="pairing", rates="uncentred"),
}


@pytest.mark.parametrize("name", list(SCHEMES) + ["B"])
def test_pure_reaction_matches_the_exact_law(name):
    problem = _problem()
    if name == "B":
        scheme = mfbd.reweighting(problem, DT, ALPHA, transport=False)
    else:
        scheme = mfbd.birth_death(problem, DT, ALPHA, transport=False, **SCHEMES[name])
    means, variances = (np.asarray(a) for a in _law_after_pure_reaction(scheme))
    for values, exact in ((means, EXACT_MEAN), (variances, EXACT_VAR)):
        se = values.std(ddof=1) / np.sqrt(SEEDS)
        assert abs(values.mean() - exact) < 4 * se, (name, values.mean(), exact, se)
    # The law really moved away from μ₀ = N(0, 1).
    assert abs(means.mean()) > 0.4 and variances.mean() < 0.6


def test_birth_death_never_creates_mass_where_mu0_has_none():
    problem = _problem()
    for control in ("rebalance", "pairing"):
        scheme = mfbd.birth_death(problem, 0.01, 5.0, control=control, transport=False)
        start = problem.init_particles(jax.random.key(0), 200)
        state, trace = mfbd.simulate(jax.random.key(1), scheme, scheme.init(start), 100, record_every=100)
        assert int(trace["killed"].sum()) > 50
        assert np.isin(np.asarray(state.particles), np.asarray(start)).all()


def test_prior_births_come_from_mu_b():
    # μ_b = N(3, 1), far from μ₀ = N(0, 1). With V = U + 1 > 0 and uncentred
    # rates every event is a kill, so the population has a deficit to fill.
    problem = _problem(shift=1.0)
    for kw in (dict(prior="replace_killed"), dict(prior="fill_deficit", rates="uncentred")):
        scheme = mfbd.birth_death(problem, 0.01, 5.0, transport=False, **kw)
        start = problem.init_particles(jax.random.key(0), 200)
        state, trace = mfbd.simulate(jax.random.key(1), scheme, scheme.init(start), 50, record_every=50)
        new = ~np.isin(np.asarray(state.particles), np.asarray(start))
        assert new.sum() > 0 and int(trace["born"].sum()) >= new.sum()
        # The carried V of the newborns is their own potential (a fresh oracle pass).
        np.testing.assert_allclose(state.potential, _U(state.particles) + 1.0, rtol=1e-12)


def _options():
    return [
        dict(),
        dict(rates="uncentred", probability="linear"),
        dict(control="pairing"),
        dict(prior="fill_deficit"),
        dict(prior="replace_killed"),
        dict(quench_after=3),
    ]


def test_alpha_zero_is_gradient_flow_exactly():
    problem = gaussian_mixture_1d()
    start = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64), problem.init_particles(jax.random.key(0), 64))
    reference = mfbd.gradient_flow(problem, 0.01)
    expected, _ = mfbd.simulate(jax.random.key(1), reference, reference.init(start), 50, record_every=50)
    schemes = [mfbd.birth_death(problem, 0.01, 0.0, **kw) for kw in _options()]
    schemes += [mfbd.reweighting(problem, 0.01, 0.0), mfbd.reweighting(problem, 0.01, 0.0, resample_below=0.5)]
    for scheme in schemes:
        state, _ = mfbd.simulate(jax.random.key(1), scheme, scheme.init(start), 50, record_every=50)
        for name in ("y", "c"):
            np.testing.assert_array_equal(state.particles[name], expected.particles[name])


def test_duplicates_carry_their_optimizer_state():
    problem = _problem()
    adam = optax.adam(1e-2)
    for kw in (dict(), dict(control="pairing")):
        scheme = mfbd.birth_death(problem, 0.01, 20.0, optimizer=adam, transport=False, **kw)
        state = scheme.init(problem.init_particles(jax.random.key(0), 100))
        # Give every unit a distinct optimizer state: mu_i = 2 θ_i.
        mu = 2 * state.particles
        state = state._replace(opt_state=(state.opt_state[0]._replace(mu=mu, nu=mu**2), *state.opt_state[1:]))
        state, trace = mfbd.simulate(jax.random.key(1), scheme, state, 20, record_every=20)
        assert int(trace["killed"].sum()) > 10
        np.testing.assert_array_equal(state.opt_state[0].mu, 2 * state.particles)
        np.testing.assert_array_equal(state.opt_state[0].nu, (2 * state.particles) ** 2)


def test_linear_probability_clipping_is_counted_instead_of_nan():
    # αΔt|β| = 25|U| > 1 for most units: their probability is clipped to 1 and counted in Info.clipped
    # (a count, not a host callback inside the step; it was a RuntimeWarning before issue 24).
    problem = _problem()
    scheme = mfbd.birth_death(problem, 0.5, 50.0, rates="uncentred", probability="linear", transport=False)
    state = scheme.init(problem.init_particles(jax.random.key(0), 50))
    rate = 0.5 * 50.0 * np.abs(np.asarray(state.potential))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        state, info = jax.jit(scheme.step)(jax.random.key(1), state)
    assert int(info.clipped) == int((rate > 1).sum()) > 0
    assert np.isfinite(np.asarray(state.particles)).all()
    exp_scheme = mfbd.birth_death(problem, 0.5, 50.0, transport=False)
    _, info = jax.jit(exp_scheme.step)(jax.random.key(1), exp_scheme.init(state.particles))
    assert int(info.clipped) == 0
    _, trace = mfbd.simulate(jax.random.key(2), scheme, scheme.init(state.particles), 4, record_every=2)
    assert trace["clipped"].shape == (2,) and int(trace["clipped"].sum()) > 0  # summed over a record like killed


def test_rebalance_restores_n_by_uniform_deletion_or_duplication():
    n = 8
    kill = jnp.array([1, 1, 1, 0, 0, 0, 0, 0], bool)
    duplicate = jnp.array([0, 0, 0, 1, 0, 0, 0, 0], bool)  # m = 5 + 1 = 6 < 8
    source, filled, m = rebalance_sources(jax.random.key(0), kill, duplicate)
    assert int(m) == 6 and int(filled.sum()) == 2
    counts = np.bincount(np.asarray(source), minlength=n)
    assert counts[:3].sum() == 0 and counts[3] >= 2 and (counts[4:] >= 1).all()
    # Surplus: every kept unit is one of the m survivors/duplicates, each at most as often as it exists.
    kill = jnp.zeros(n, bool)
    duplicate = jnp.ones(n, bool)
    source, filled, m = rebalance_sources(jax.random.key(1), kill, duplicate)
    assert int(m) == 16 and not filled.any() and np.bincount(np.asarray(source)).max() <= 2


def test_pairing_moves_copy_from_other_units():
    n = 6
    kill = jnp.array([1, 0, 0, 0, 0, 0], bool)
    duplicate = jnp.array([0, 0, 0, 0, 0, 1], bool)
    source = np.asarray(pairing_sources(jax.random.key(3), kill, duplicate))
    assert source[0] != 0  # the killed unit became a copy of another unit
    assert (source == 5).sum() == 2  # unit 5 exists twice
    assert sorted(set(range(n)) - set(source.tolist())) in ([0], [0, 1], [0, 2], [0, 3], [0, 4], [1], [2], [3], [4])


def test_bad_options_are_named():
    problem = gaussian_mixture_1d()
    with pytest.raises(ValueError, match="unknown control 'pair'"):
        mfbd.birth_death(problem, 0.01, 1.0, control="pair")
    with pytest.raises(ValueError, match="alpha must be"):
        mfbd.birth_death(problem, 0.01, -1.0)
    with pytest.raises(ValueError, match="dt must be positive"):
        mfbd.reweighting(problem, 0.0, 1.0)
    with pytest.raises(ValueError, match="resample_below"):
        mfbd.reweighting(problem, 0.01, 1.0, resample_below=1.5)
    with pytest.raises(ValueError, match="fill_deficit"):
        mfbd.birth_death(problem, 0.01, 1.0, control="pairing", prior="fill_deficit")
