"""Sampling mode: the oracle against independent references, the exact laws, the contract."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.special import logsumexp

import mfbd
from mfbd.problems import gaussian, gaussian_fokker_planck_law, make_target, sampling


def _ref_log_rho(x, w, h):
    """Unblocked numpy log ρ̂(x_i) = log Σ_j w_j K_h(x_i - x_j)."""
    d = x.shape[1]
    sq = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    return logsumexp(np.log(w)[None, :] - sq / (2 * h * h) - 0.5 * d * np.log(2 * np.pi * h * h), axis=1)


def _ref_energy(x, w, h, log_pi):
    """E_h(μ) = Σ_i w_i [log Σ_j w_j K_h(x_i - x_j) - log π(x_i)] in jnp (differentiable, unblocked)."""
    d = x.shape[1]
    sq = jnp.sum((x[:, None, :] - x[None, :, :]) ** 2, -1)
    log_k = -sq / (2 * h * h) - 0.5 * d * jnp.log(2 * jnp.pi * h * h)
    log_rho = jax.nn.logsumexp(jnp.log(w)[None, :] + log_k, axis=1)
    return jnp.dot(w, log_rho - jax.vmap(log_pi)(x))


def _cloud(n=12, d=2, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * np.array([1.5, 0.7])[:d] + np.array([0.0, 5.0])[:d]
    return jnp.asarray(x), jnp.asarray(rng.dirichlet(np.ones(n)))


TARGET = make_target("four_mode_mixture")
H = 0.8


def test_pde_potential_and_energy_against_unblocked_numpy():
    x, w = _cloud()
    ev = sampling(TARGET, bandwidth=H, rate="pde").evaluate(x, w)
    log_pi = np.asarray(jax.vmap(TARGET.log_density)(x))
    ref = _ref_log_rho(np.asarray(x), np.asarray(w), H)
    np.testing.assert_allclose(ev.potential, ref - log_pi, rtol=1e-12)
    np.testing.assert_allclose(ev.energy, np.dot(w, ref - log_pi), rtol=1e-12)
    np.testing.assert_allclose(ev.grad_potential, -jax.vmap(jax.grad(TARGET.log_density))(x), rtol=1e-12)


def test_kl_potential_is_the_weight_derivative_of_the_energy_minus_one():
    x, w = _cloud()
    ev = sampling(TARGET, bandwidth=H, rate="kl").evaluate(x, w)
    dE_dw = jax.grad(lambda w: _ref_energy(x, w, H, TARGET.log_density))(w)
    np.testing.assert_allclose(ev.potential, dE_dw - 1.0, rtol=1e-10, atol=1e-12)


def test_blob_kl_gradient_is_the_particle_gradient_of_the_energy_over_w():
    """δE_h = Σ_i w_i ∇V(θ_i)·δθ_i for the exact first variation ("kl")."""
    x, w = _cloud()
    ev = sampling(TARGET, bandwidth=H, rate="kl", transport="blob").evaluate(x, w)
    dE_dx = jax.grad(lambda x: _ref_energy(x, w, H, TARGET.log_density))(x)
    np.testing.assert_allclose(ev.grad_potential, dE_dx / w[:, None], rtol=1e-9, atol=1e-10)


def test_blob_pde_gradient_matches_finite_differences_with_mu_fixed():
    x, w = _cloud(n=6)
    ev = sampling(TARGET, bandwidth=H, rate="pde", transport="blob").evaluate(x, w)
    xn, wn, eps = np.asarray(x), np.asarray(w), 1e-6

    def v_at(theta):  # V(θ, μ) = log ρ̂(θ) - log π(θ) with the particles of μ fixed
        sq = ((theta[None, :] - xn) ** 2).sum(-1)
        log_rho = logsumexp(np.log(wn) - sq / (2 * H * H) - np.log(2 * np.pi * H * H))
        return log_rho - float(TARGET.log_density(jnp.asarray(theta)))

    for i in range(6):
        fd = [(v_at(xn[i] + eps * e) - v_at(xn[i] - eps * e)) / (2 * eps) for e in np.eye(2)]
        np.testing.assert_allclose(ev.grad_potential[i], fd, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("rate", ["pde", "kl"])
@pytest.mark.parametrize("transport", ["langevin", "blob"])
def test_blocked_rows_equal_unblocked(rate, transport):
    x, w = _cloud(n=29)
    full = sampling(TARGET, bandwidth=H, rate=rate, transport=transport, block_size=1024).evaluate(x, w)
    blocked = sampling(TARGET, bandwidth=H, rate=rate, transport=transport, block_size=4).evaluate(x, w)
    chex.assert_trees_all_close(full, blocked, rtol=1e-12, atol=1e-13)


def test_kernel_tiles_equal_unblocked_numpy():
    """Several tiles (⌈n/64⌉ of them, the last padded for n = 130) and the matmul form of the distances
    (d = 10 > 8): both rates and leave-one-out against unblocked numpy (the row-blocked path is held to
    the same numpy reference above)."""
    for n, d, cases in ((130, 3, ("pde", "kl", "loo")), (70, 10, ("kl",))):
        rng = np.random.default_rng(n)
        x, w = jnp.asarray(rng.normal(size=(n, d))), jnp.asarray(rng.dirichlet(np.ones(n)))
        target = make_target("gaussian", dim=d)
        log_pi = np.asarray(jax.vmap(target.log_density)(x))
        xn, wn = np.asarray(x), np.asarray(w)
        k = np.exp(-((xn[:, None] - xn[None]) ** 2).sum(-1) / (2 * H * H)) / (2 * np.pi * H * H) ** (d / 2)
        rho = k @ wn
        want = {"pde": np.log(rho), "kl": np.log(rho) + k @ (wn / rho) - 1.0}
        want["loo"] = np.log((rho - np.diag(k) * wn) / (1 - wn))
        options = {"pde": {}, "kl": {"rate": "kl"}, "loo": {"leave_one_out": True}}
        tiles = {name: sampling(target, bandwidth=H, **options[name]).evaluate(x, w).potential for name in cases}
        for name, got in tiles.items():
            np.testing.assert_allclose(got, want[name] - log_pi, rtol=1e-11, atol=1e-12, err_msg=f"{name} {d}")


@pytest.mark.parametrize("rate", ["pde", "kl"])
def test_finite_and_correct_at_coincident_particles(rate):
    x, w = _cloud(n=8)
    x = jnp.concatenate([x, x[:3], x[:1]])  # exact copies, as after duplications
    w = jnp.concatenate([w, w[:3], w[:1]])
    w = w / w.sum()
    for bandwidth in (H, "median"):
        ev = sampling(TARGET, bandwidth=bandwidth, rate=rate, transport="blob").evaluate(x, w)
        chex.assert_tree_all_finite(ev)
    ev = sampling(TARGET, bandwidth=H, rate="pde").evaluate(x, w)
    np.testing.assert_allclose(ev.potential[8:11], ev.potential[:3], rtol=1e-12)
    log_pi = np.asarray(jax.vmap(TARGET.log_density)(x))
    np.testing.assert_allclose(ev.potential, _ref_log_rho(np.asarray(x), np.asarray(w), H) - log_pi, rtol=1e-12)
    same = jnp.broadcast_to(x[:1], (5, 2))  # every particle at one point: the median is 0
    chex.assert_tree_all_finite(sampling(TARGET, bandwidth="median", rate=rate).evaluate(same, None))


def test_median_bandwidth_is_the_weighted_median_heuristic():
    x, _ = _cloud(n=10)
    w = jnp.full(10, 0.1)
    xn = np.asarray(x)
    sq = ((xn[:, None] - xn[None]) ** 2).sum(-1)[~np.eye(10, dtype=bool)]
    h = float(mfbd.problems.median_bandwidth(x, w))
    lower, upper = np.sort(sq)[44], np.sort(sq)[45]  # 90 ordered pairs: the median lies between the middle two
    tol = 1e-9  # the bisection's 2⁻⁴⁰ of the largest distance
    assert np.sqrt(lower / (2 * np.log(10))) * (1 - tol) <= h <= np.sqrt(upper / (2 * np.log(10))) * (1 + tol)


def _ou_run(dt, steps, n, seeds, key):
    target = gaussian(dim=2, covariance=[[1.0, 0.6], [0.6, 2.0]], init_mean=[3.0, -2.0], init_covariance=np.eye(2) / 4)
    problem = sampling(target, bandwidth=0.5)
    scheme = mfbd.gradient_flow(problem, dt, noise=1.0)
    keys = jax.random.split(key, seeds)
    states = jax.vmap(lambda k: scheme.init(problem.init_particles(k, n)))(keys)
    final = jax.vmap(lambda k, s: mfbd.simulate(k, scheme, s, steps, record_every=steps)[0])(keys, states)
    return target, np.asarray(final.particles).reshape(-1, 2)


@pytest.mark.slow
def test_langevin_from_a_gaussian_start_matches_the_exact_ou_law():
    """Mean and covariance at t = 1 within 4 Monte-Carlo standard errors plus the exact
    Euler–Maruyama bias |EM law - OU law| (computed from the discrete recursion)."""
    dt, steps = 0.01, 100
    target, x = _ou_run(dt, steps, n=500, seeds=4, key=jax.random.key(7))
    m_t, C_t = gaussian_fokker_planck_law(target, dt * steps)
    A = np.linalg.inv(target.covariance)
    B = np.eye(2) - dt * A
    m, C = target.extras["init_mean"], target.extras["init_covariance"]
    for _ in range(steps):
        m, C = B @ m, B @ C @ B.T + 2 * dt * np.eye(2)
    N = x.shape[0]
    se_mean = np.sqrt(np.diag(C_t) / N)
    se_cov = np.sqrt((np.outer(np.diag(C_t), np.diag(C_t)) + C_t**2) / N)
    assert np.all(np.abs(x.mean(0) - m_t) <= 4 * se_mean + np.abs(m - m_t))
    assert np.all(np.abs(np.cov(x.T) - C_t) <= 4 * se_cov + np.abs(C - C_t))
    assert np.abs(C - C_t).max() < 0.02 and np.abs(m - m_t).max() < 0.01  # the bias is O(Δt) small


def test_fokker_planck_law_solves_the_moment_equations():
    target = gaussian(dim=2, covariance=[[1.0, 0.6], [0.6, 2.0]])
    A = np.linalg.inv(target.covariance)
    m0, S0 = target.extras["init_mean"], target.extras["init_covariance"]

    def rhs(t, y):
        m, C = y[:2], y[2:].reshape(2, 2)
        return np.concatenate([-A @ m, (-A @ C - C @ A + 2 * np.eye(2)).ravel()])

    sol = solve_ivp(rhs, (0, 0.7), np.concatenate([m0, S0.ravel()]), rtol=1e-11, atol=1e-12)
    m, C = gaussian_fokker_planck_law(target, 0.7)
    np.testing.assert_allclose(m, sol.y[:2, -1], atol=1e-8)
    np.testing.assert_allclose(C, sol.y[2:, -1].reshape(2, 2), atol=1e-8)


def _fisher_rao_kde(alpha, h, lam0, eta0, t):
    """The KDE-driven Fisher–Rao flow in the Gaussian family (module docstring of the test):
    with ρ̂ = N(m, s² + h²) and π = N(0, 1), log μ = -λθ²/2 + ηθ evolves as
    λ' = α(1 - λ/(1 + λh²)), η' = -αη/(1 + λh²); h = 0 is the exact flow of KL."""

    def rhs(_, y):
        lam, eta = y
        return [alpha * (1 - lam / (1 + lam * h * h)), -alpha * eta / (1 + lam * h * h)]

    lam, eta = solve_ivp(rhs, (0, t), [lam0, eta0], rtol=1e-12, atol=1e-12).y[:, -1]
    return eta / lam, 1 / lam  # mean, variance


def _grid_reweighting(dt, h=0.5, alpha=1.0, t=1.0, m0=2.0, s0=0.5):
    grid = np.linspace(-10, 10, 801)
    log_w0 = -0.5 * (grid - m0) ** 2 / s0**2
    problem = sampling(gaussian(dim=1, mean=[0.0], covariance=[[1.0]]), bandwidth=h)
    scheme = mfbd.reweighting(problem, dt, alpha, transport=False)
    state = scheme.init(jnp.asarray(grid)[:, None])
    state = state._replace(log_weights=jnp.asarray(log_w0 - logsumexp(log_w0)))
    final, _ = mfbd.simulate(jax.random.key(0), scheme, state, round(t / dt), record_every=round(t / dt))
    w = np.exp(np.asarray(final.log_weights))
    mean = w @ grid
    return mean, w @ (grid - mean) ** 2


def test_pure_reweighting_is_the_fisher_rao_flow_of_the_kde_energy():
    """On a fixed 1-D grid (spacing ≪ h, so ρ̂ = N(m, s² + h²) to quadrature accuracy) the
    weights follow the KDE Fisher–Rao flow; the splitting error is first order in Δt."""
    exact = np.array(_fisher_rao_kde(1.0, 0.5, 4.0, 8.0, 1.0))
    errors = [np.abs(np.array(_grid_reweighting(dt)) - exact).max() for dt in (0.02, 0.01)]
    assert errors[1] < 0.01
    assert 1.6 < errors[0] / errors[1] < 2.4  # first order in Δt
    no_bias = np.array(_fisher_rao_kde(1.0, 0.0, 4.0, 8.0, 1.0))
    assert np.abs(no_bias - exact).max() > 10 * errors[1]  # the KDE bias is real, and accounted for


@pytest.mark.slow
def test_pure_birth_death_particles_follow_the_kde_fisher_rao_flow():
    """Scheme A, no transport, n = 400 from N(2, 1/4), h = 0.5: mean and variance over 16 seeds
    within 4 standard errors of the KDE Fisher–Rao law (finite-n bias O(1/n) is far smaller)."""
    n, seeds, dt, steps = 400, 16, 0.02, 50
    target = gaussian(dim=1, mean=[0.0], covariance=[[1.0]], init_mean=[2.0], init_covariance=[[0.25]])
    problem = sampling(target, bandwidth=0.5)
    scheme = mfbd.birth_death(problem, dt, 1.0, transport=False)
    keys = jax.random.split(jax.random.key(3), seeds)
    states = jax.vmap(lambda k: scheme.init(problem.init_particles(k, n)))(keys)
    final = jax.vmap(lambda k, s: mfbd.simulate(k, scheme, s, steps, record_every=steps)[0])(keys, states)
    x = np.asarray(final.particles)[..., 0]
    means, variances = x.mean(1), x.var(1)
    m, v = _fisher_rao_kde(1.0, 0.5, 4.0, 8.0, dt * steps)
    assert abs(means.mean() - m) <= 4 * means.std(ddof=1) / np.sqrt(seeds)
    assert abs(variances.mean() - v) <= 4 * variances.std(ddof=1) / np.sqrt(seeds)
    assert abs(m - 2.0) > 0.3  # the reaction moved the law


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"bandwidth": 0.0}, "bandwidth must be > 0"),
        ({"bandwidth": float("nan")}, "bandwidth must be finite"),
        ({"bandwidth": "silverman"}, "unknown bandwidth 'silverman'"),
        ({"rate": "fast"}, "unknown rate 'fast'; choose one of 'pde', 'kl'"),
        ({"transport": "svgd"}, "unknown transport 'svgd'"),
        ({"block_size": 0}, "block_size must be a positive integer"),
    ],
)
def test_bad_arguments_give_one_line_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sampling(TARGET, **kwargs)


def test_bad_log_targets_give_one_line_errors():
    start = TARGET.init_particles
    with pytest.raises(ValueError, match="needs init_particles"):
        sampling(TARGET.log_density)
    with pytest.raises(ValueError, match="to a scalar"):
        sampling(lambda t: -(t**2), init_particles=start)
    with pytest.raises(ValueError, match="not finite at the initial particles"):
        sampling(lambda t: jnp.log(t[0]), init_particles=start)  # log of negative x
    with pytest.raises(ValueError, match="unknown target"):
        make_target("bananna")  # a misspelling ("banana" became a target in issue 25)


def test_leave_one_out_drops_the_self_term():
    """ρ̂₋ᵢ(θ_i) = Σ_{j≠i} w_j K_h(θ_i - θ_j)/(1 - w_i) against unblocked numpy, blocked or not."""
    x, w = _cloud(n=29)
    xn, wn, d = np.asarray(x), np.asarray(w), 2
    sq = ((xn[:, None] - xn[None]) ** 2).sum(-1)
    k = np.exp(-sq / (2 * H * H)) / (2 * np.pi * H * H) ** (d / 2)
    ref = np.log(((k - np.diag(np.diag(k))) @ wn) / (1 - wn)) - np.asarray(jax.vmap(TARGET.log_density)(x))
    for block in (1024, 4):
        ev = sampling(TARGET, bandwidth=H, leave_one_out=True, block_size=block).evaluate(x, w)
        np.testing.assert_allclose(ev.potential, ref, rtol=1e-12)


def test_neighbour_estimate_is_exact_with_all_others_and_unbiased_with_few():
    x, w = _cloud(n=40)
    full = sampling(TARGET, bandwidth=H).evaluate(x, w)
    every = sampling(TARGET, bandwidth=H, neighbours=40).evaluate(x, w, jax.random.key(3))
    np.testing.assert_allclose(every.potential, full.potential, rtol=1e-12)
    chex.assert_trees_all_close(every.grad_potential, full.grad_potential)
    few = sampling(TARGET, bandwidth=H, neighbours=5)
    log_pi = jax.vmap(TARGET.log_density)(x)
    keys = jax.random.split(jax.random.key(4), 400)
    rho = np.exp(np.asarray(jax.vmap(lambda k: few.evaluate(x, w, k).potential + log_pi)(keys)))
    exact = np.exp(np.asarray(full.potential + log_pi))
    assert np.all(np.abs(rho.mean(0) - exact) <= 4 * rho.std(0) / np.sqrt(400) + 1e-12)  # ρ̂_p is unbiased
    assert np.any(rho.std(0) > 0.01 * exact)  # and random


def test_sampled_median_bandwidth_estimates_the_exact_median():
    """n = 200 (39 800 ordered pairs > 4096): the mean over 50 keys of the sampled-pair median is within
    4 standard errors of the exact one (its O(1/num_pairs) bias is far below that)."""
    x = jnp.asarray(np.random.default_rng(1).normal(size=(200, 2)) * [1.0, 3.0])
    w = jnp.full(200, 1 / 200)
    xn = np.asarray(x)
    exact = np.sqrt(np.median(((xn[:, None] - xn[None]) ** 2).sum(-1)[~np.eye(200, dtype=bool)]) / (2 * np.log(200)))
    hs = np.asarray(
        jax.vmap(lambda k: mfbd.problems.median_bandwidth(x, w, k))(jax.random.split(jax.random.key(0), 50))
    )
    assert abs(hs.mean() - exact) <= 4 * hs.std(ddof=1) / np.sqrt(50)
    assert 0 < hs.std() < 0.05 * exact


def test_sampled_pairs_are_distinct_and_cover_every_index():
    """The sampled median's ordered pairs i ≠ j (indices by :func:`mfbd._random.uniform_below`, tested in
    tests/schemes/test_draws.py) cover every index."""
    from mfbd.problems.bandwidth import _random_pairs

    i, j = (np.asarray(a) for a in _random_pairs(jax.random.key(6), 50, 4_000))
    assert np.all(i != j) and set(i) == set(j) == set(range(50))


def test_float32_kernel_is_the_float64_estimate_to_float32_rounding():
    """kernel_dtype="float32" in a float64 run: V, ∇U and E of both rates, tiled and row-blocked, against
    numpy in float64, to a bound from float32's unit roundoff u = 6e-8 (each kernel value off by about
    u·(2 + ‖θ_i - θ_j‖²/h²), ≤ 100u here); a unit whose weight is below float32's range (1e-50 of the
    others') keeps its own term: its ρ̂ is the float64 one, not a flushed zero."""
    n, d = 130, 2
    rng = np.random.default_rng(7)
    x = jnp.asarray(rng.normal(size=(n, d)) * 2.0 + 3.0)
    w = np.full(n, 1.0)
    w[5], x = 1e-50, x.at[5].set(jnp.array([40.0, 40.0]))  # isolated, and tiny
    w = jnp.asarray(w / w.sum())
    xn, wn = np.asarray(x), np.asarray(w)
    k = np.exp(-((xn[:, None] - xn[None]) ** 2).sum(-1) / (2 * H * H)) / (2 * np.pi * H * H)
    log_pi = np.asarray(jax.vmap(TARGET.log_density)(x))
    rho = k @ wn
    want = {"pde": np.log(rho) - log_pi, "kl": np.log(rho) + k @ (wn / rho) - 1.0 - log_pi}
    for rate in ("pde", "kl"):
        for block in (1024, 16):
            full = sampling(TARGET, bandwidth=H, rate=rate, block_size=block)
            low = sampling(TARGET, bandwidth=H, rate=rate, block_size=block, kernel_dtype="float32")
            ev, ref = low.evaluate(x, w), full.evaluate(x, w)
            assert ev.potential.dtype == jnp.float64 and np.any(ev.potential != ref.potential)  # float32 sums
            np.testing.assert_allclose(ev.potential, want[rate], rtol=0, atol=100 * 6e-8, err_msg=f"{rate} {block}")
            np.testing.assert_allclose(ev.energy, ref.energy, rtol=0, atol=100 * 6e-8)
            chex.assert_trees_all_close(ev.grad_potential, ref.grad_potential, rtol=1e-14)
    sampled = sampling(TARGET, bandwidth=H, neighbours=n, kernel_dtype="float32").evaluate(x, w, jax.random.key(1))
    np.testing.assert_allclose(sampled.potential, want["pde"], rtol=0, atol=100 * 6e-8)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"kernel_dtype": "float16"}, "unknown kernel_dtype 'float16'; choose one of 'float32'"),
        ({"kernel_dtype": "float32", "leave_one_out": True}, "does not combine with leave_one_out"),
        ({"neighbours": 1}, "neighbours must be at least 2"),
        ({"neighbours": 2.5}, "neighbours must be a positive integer"),
        ({"neighbours": 8, "rate": "kl"}, "work with rate='pde', transport='langevin' only"),
        ({"leave_one_out": True, "transport": "blob"}, "work with rate='pde', transport='langevin' only"),
    ],
)
def test_bad_density_estimate_options_give_one_line_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sampling(TARGET, bandwidth=H, **kwargs)
    with pytest.raises(ValueError, match="exceeds the n = 12 particles"):
        sampling(TARGET, bandwidth=H, neighbours=13).evaluate(*_cloud())


def test_cost_counts_the_pairs_each_oracle_pass_evaluates():
    """meta.cost(n): ∇log π once per particle; K_h pairs n² per pairwise pass (1 for "pde", 2 for "kl",
    and the blob rows' own), n(p - 1) with neighbours; the median's sampled pairs."""
    cost = {
        (rate, transport): sampling(TARGET, bandwidth=H, rate=rate, transport=transport).meta.cost(100)
        for rate in ("pde", "kl")
        for transport in ("langevin", "blob")
    }
    assert {k: c.kernel_evals // 10_000 for k, c in cost.items()} == {
        ("pde", "langevin"): 1,
        ("kl", "langevin"): 2,
        ("pde", "blob"): 2,
        ("kl", "blob"): 3,
    }
    assert all(c.grad_evals == 100 and c.bandwidth_pairs == 0 for c in cost.values())
    assert sampling(TARGET, bandwidth=H, neighbours=8).meta.cost(100).kernel_evals == 700
    assert sampling(TARGET, bandwidth="median").meta.cost(100).bandwidth_pairs == 4096
    assert sampling(TARGET, bandwidth="median").meta.cost(10).bandwidth_pairs == 90
