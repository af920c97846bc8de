"""The driver: chunking does not change a run; a vmapped ensemble is the loop over keys."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mfbd
from mfbd.problems import gaussian_mixture_1d
from mfbd.schemes.base import lineage_counts
from mfbd.simulate import run_chunk, seed_keys, state_energy


def _setup():
    problem = gaussian_mixture_1d()
    scheme = mfbd.birth_death(problem, 0.01, 5.0, rates="uncentred", probability="linear")
    start = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64), problem.init_particles(jax.random.key(0), 32))
    return problem, scheme, start


def test_chunked_and_unchunked_runs_are_identical():
    _, scheme, start = _setup()
    state = scheme.init(start)
    whole = mfbd.simulate(jax.random.key(1), scheme, state, 60, record_every=3)
    chunked = mfbd.simulate(jax.random.key(1), scheme, state, 60, record_every=3, chunk_size=9)
    chex.assert_trees_all_equal(whole, chunked)
    # Resuming from a saved state continues the same stream.
    first, _ = mfbd.simulate(jax.random.key(1), scheme, state, 30, record_every=3)
    resumed, _ = mfbd.simulate(jax.random.key(1), scheme, first, 30, record_every=3)
    chex.assert_trees_all_equal(resumed, whole[0])
    trace = whole[1]
    np.testing.assert_array_equal(trace["step"], np.arange(3, 61, 3))
    np.testing.assert_allclose(trace["time"], 0.01 * np.arange(3, 61, 3))
    assert int(trace["killed"].sum()) > 0


def test_vmapped_ensemble_equals_the_loop_over_keys():
    _, scheme, start = _setup()
    keys = jax.random.split(jax.random.key(2), 3)
    states = jax.vmap(lambda k: scheme.init(start))(keys)
    batched = jax.vmap(lambda k, s: mfbd.simulate(k, scheme, s, 40, record_every=4))(keys, states)
    for i, key in enumerate(keys):
        single = mfbd.simulate(key, scheme, scheme.init(start), 40, record_every=4)
        ith = jax.tree_util.tree_map(lambda a, i=i: a[i], batched)
        chex.assert_trees_all_close(ith, single, rtol=1e-12, atol=1e-14)


def test_observables_are_recorded():
    problem, scheme, start = _setup()
    observe = lambda s: {"mean_y": jnp.mean(s.particles["y"])}  # noqa: E731
    state, trace = mfbd.simulate(jax.random.key(1), scheme, scheme.init(start), 20, record_every=5, observe=observe)
    np.testing.assert_allclose(trace["mean_y"][-1], jnp.mean(state.particles["y"]))
    np.testing.assert_allclose(trace["energy"][-1], problem.energy(state.particles, jnp.full(32, 1 / 32)), rtol=0.2)


def test_bad_arguments_are_named():
    _, scheme, start = _setup()
    state = scheme.init(start)
    with pytest.raises(ValueError, match="multiple of record_every"):
        mfbd.simulate(jax.random.key(0), scheme, state, 10, record_every=3)
    with pytest.raises(ValueError, match="num_steps must be a positive integer"):
        mfbd.simulate(jax.random.key(0), scheme, state, 0)


def test_record_initial_prepends_the_step_0_row():
    problem, scheme, start = _setup()
    state = scheme.init(start)
    observe = state_energy(problem, "E")
    _, plain = mfbd.simulate(jax.random.key(1), scheme, state, 20, record_every=5, observe=observe)
    _, trace = mfbd.simulate(jax.random.key(1), scheme, state, 20, record_every=5, observe=observe, record_initial=True)
    w = np.full(32, 1 / 32)
    by_hand = {
        "step": 0,
        "time": 0.0,
        "energy": float(state.energy),
        "mean_potential": float(np.dot(w, state.potential)),
        "killed": 0,
        "born": 0,
        "ess": 32.0,
        "lineages": 32,  # 32 distinct units at the start
        "effective_lineages": 32.0,
        "oracle_passes": 1,  # init's pass
        "mass": 1.0,  # Info.mass (issue 26): total mass, 1 unless conic descent
        "clipped": 0,
        "E": float(problem.energy(state.particles, jnp.asarray(w))),
    }
    assert set(trace) == set(by_hand)
    for name, value in by_hand.items():
        np.testing.assert_allclose(trace[name][0], value, rtol=1e-12, err_msg=name)
        np.testing.assert_array_equal(trace[name][1:], plain[name], err_msg=name)
    np.testing.assert_allclose(trace["E"][0], trace["energy"][0], rtol=1e-12)  # no reaction before step 0


def test_state_energy_is_the_energy_after_the_reaction():
    problem, scheme, start = _setup()
    observe = state_energy(problem)
    state, trace = mfbd.simulate(jax.random.key(3), scheme, scheme.init(start), 10, record_every=10, observe=observe)
    w = jax.nn.softmax(state.log_weights)
    np.testing.assert_allclose(trace["state_energy"][-1], problem.energy(state.particles, w), rtol=1e-12)


def test_seed_ensemble_chunk_equals_the_loop_over_seeds():
    """run_chunk(seeds=True) with seed_keys: seed s is the single run from split(key(s), 3)."""
    problem, scheme, _ = _setup()
    seeds = [0, 3, 5]
    k_particles, k_init, k_run = seed_keys(seeds)
    particles = jax.vmap(lambda k: problem.init_particles(k, 32))(k_particles)
    states = jax.vmap(scheme.init)(particles, k_init)
    batched = run_chunk(scheme, 4, 5, seeds=True)(k_run, states)
    for i, seed in enumerate(seeds):
        keys = jax.random.split(jax.random.key(seed), 3)
        state = scheme.init(problem.init_particles(keys[0], 32), keys[1])
        single = run_chunk(scheme, 4, 5)(keys[2], state)
        ith = jax.tree_util.tree_map(lambda a, i=i: a[i], batched)
        # The same draws and decisions; the floats agree to rounding (vmap reorders the sums).
        for name in ("step", "killed", "born"):
            np.testing.assert_array_equal(ith[1][name], single[1][name])
        chex.assert_trees_all_close(ith, single, rtol=1e-12, atol=1e-14)


def test_init_ensemble_is_the_runners_seeding(tmp_path):
    """Seed s starts from the same state in ``init_ensemble`` as in a run: the runner's step-0 energies, bit for bit."""
    from conftest import SMALL

    from mfbd.cli import run_config
    from mfbd.config import load, make_problem, make_scheme
    from mfbd.runner import rundir
    from mfbd.simulate import init_ensemble, initial_record

    path = tmp_path / "small.toml"
    path.write_text(SMALL.replace("n = 16", "n = 16\nseeds = [3, 5]"))
    config = load(str(path))
    assert run_config(config, str(tmp_path / "run"), quiet=True, plot=False) == 0
    metrics = rundir.read_metrics(tmp_path / "run")
    assert config.run.dtype == "float64"
    with jax.enable_x64(True):
        problem = make_problem(config.problem, config.run.n, True)
        for name, arm in config.arms:
            scheme = make_scheme(problem, arm, config.run.steps)
            states, keys = init_ensemble(scheme, problem, config.run.n, config.run.seed_list, jnp.float64)
            assert keys.shape == (2,)
            first = np.asarray(jax.vmap(initial_record)(states)["energy"])
            np.testing.assert_array_equal(metrics[name]["energy"][:, 0], first)


def test_state_energy_of_a_conic_state_is_e_of_its_unequal_masses():
    """E(μ) = ½∫f² - Σ m_i F(θ_i) + ½ Σ m_i m_j K(θ_i, θ_j), by hand in numpy, for μ of total mass 1.8."""
    problem = mfbd.problems.torus_mmd(atoms=4)
    theta = np.array([[0.3, 1.0], [2.0, 4.5], [5.9, 0.1]])
    masses = np.array([0.2, 0.5, 1.1])
    state = mfbd.conic(problem, 0.01, 1.0).init(jnp.asarray(theta))._replace(log_weights=jnp.log(masses))
    q, atoms = np.arange(1, 6), problem.extras["atoms"]

    def kernel(s, t):  # [a, 2], [b, 2] -> [a, b]
        g = 1.0 + 2.0 * np.sum(np.cos((s[:, None, :] - t[None, :, :])[..., None] * q) / (1.0 + q), -1)
        return np.prod(g, -1)

    c_f = 0.5 * kernel(atoms, atoms).mean()
    by_hand = c_f - masses @ kernel(theta, atoms).mean(1) + 0.5 * masses @ kernel(theta, theta) @ masses
    np.testing.assert_allclose(state_energy(problem, conic=True)(state)["state_energy"], by_hand, rtol=1e-12)
    # The balanced reading (weights softmax(log m) = m / 1.8) is another measure, with another energy.
    w = masses / masses.sum()
    balanced = c_f - w @ kernel(theta, atoms).mean(1) + 0.5 * w @ kernel(theta, theta) @ w
    np.testing.assert_allclose(state_energy(problem)(state)["state_energy"], balanced, rtol=1e-12)
    assert abs(by_hand - balanced) > 0.1


def test_records_hold_the_lineage_counts_of_the_last_step():
    # run_chunk computes the lineage counts once per record (Scheme.census of the record's state): the
    # same numbers as the last step's Info, which the step computes for itself.
    _, scheme, start = _setup()
    state = scheme.init(start)
    last, trace = mfbd.simulate(jax.random.key(3), scheme, state, 40, record_every=20)
    for r in range(2):
        for _ in range(20):
            state, info = jax.jit(scheme.step)(jax.random.fold_in(jax.random.key(3), state.step), state)
        assert int(trace["lineages"][r]) == int(info.lineages)
        assert float(trace["effective_lineages"][r]) == float(info.effective_lineages)
    assert int(trace["lineages"][-1]) < 32  # the reaction merged lineages
    # and they are the counts of the run's last state (the weighted count, a second implementation)
    count, effective = lineage_counts(last.lineage, jnp.full(32, 1 / 32, jnp.float64))
    assert int(trace["lineages"][-1]) == int(count)
    np.testing.assert_allclose(float(trace["effective_lineages"][-1]), float(effective), rtol=1e-12)
