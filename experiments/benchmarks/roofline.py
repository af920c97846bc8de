"""Benchmark: how far a gradient-flow step is from its essential arithmetic (the roofline rows).

For each workload a same-process baseline computes only what a step cannot do
without, written as plainly fused jnp over whole arrays, and checked against
``problem.evaluate`` before it is timed:

* kernel mode (experiment 1, K(θ, θ') = c c' g_1(y - y')): the pairwise scan
  V_i = -F(θ_i) + c_i Σ_j w_j c_j g_1(y_i - y_j) with ∂_y V and ∂_c V in closed form,
  at n = 200, 1 000, 5 000;
* data mode (student-teacher, n = m, d = 5 and 50): the two matmuls of a step,
  Z X_bᵀ and its pullback onto X_b in the step's blocks of 256 samples, timed alone; the formulas
  a = relu(Z Xᵀ), r = aᵀ(w ⊙ c) - f*(X), ∇_c V = a r/m, ∇_z V = c ⊙ (1[ZXᵀ > 0] ⊙ r) X/m
  are checked against ``problem.evaluate`` first;
* sampling mode (the four-mode target, d = 2, h = 1, n = 500 and 5 000): the KDE's pair sums
  log ρ̂(θ_i) = log Σ_j w_j K_h(θ_i - θ_j), one matmul and one exp per pair, checked against
  :func:`mfbd.problems.kde_log_density`, against a birth-death Langevin step (``rate="pde"``).

The row's ratio is baseline / step: the fraction of its essential arithmetic's
speed the step reaches (1 = at the limit). float32, one seed, best of k rounds.
On the 2-core CPU the data-mode baseline (XLA's matmuls of these tall-skinny
shapes, alone) is slower than the fused step itself, so those rows are context
without a target; a FLOP-count roofline would be the next step.

    python -m experiments.benchmarks.roofline [--smoke]
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

import mfbd
from experiments.benchmarks.common import Row, Settings, interleaved, standalone
from mfbd.problems.gaussian_mixture import AMPLITUDES, CENTRES, UNIT_VARIANCE, VARIANCES

TARGET = ">= 0.5"


def _g(u, v):
    return jnp.exp(-(u * u) / (2 * v)) / jnp.sqrt(2 * jnp.pi * v)


@jax.jit
def kernel_essential(y, c, w):
    """(V, ∂_y V, ∂_c V) of experiment 1 over all pairs, in closed form."""
    a, yk, vk = (jnp.asarray(t, y.dtype) for t in (AMPLITUDES, CENTRES, VARIANCES))
    d_k = y[:, None] - yk
    g_k = _g(d_k, vk + UNIT_VARIANCE)
    f = c / 3.0 * (g_k @ a)
    df = c / 3.0 * ((-d_k / (vk + UNIT_VARIANCE) * g_k) @ a)
    d = y[:, None] - y[None, :]
    g = _g(d, 2 * UNIT_VARIANCE)
    wc = w * c
    s, s_y = g @ wc, (-d * g) @ wc
    return -f + c * s, -df + c * s_y, -f / c + s


@partial(jax.jit, static_argnums=2)
def two_matmuls(z, x, block):
    """The two products a data-mode step cannot avoid, in the step's sample blocks:
    P = Z X_bᵀ [n, block] and the pullback P X_b [n, d], summed over the blocks."""

    def one(xb):
        return (z @ xb.T) @ xb

    return jax.lax.map(one, x.reshape(-1, block, x.shape[1])).sum(0)


def data_essential(z, c, w, x, u, sign):
    """(V, ∇_c V, ∇_z V) of the mean-field student on the batch x: two matmuls and their pullbacks."""
    pre = z @ x.T
    a = jnp.maximum(pre, 0.0)
    r = (w * c) @ a - jnp.maximum(x @ u.T, 0.0) @ sign
    m = x.shape[0]
    ar = (a @ r) / m
    grad_z = (c / m)[:, None] * (jnp.where(pre > 0, r, 0.0) @ x)
    return c * ar, ar, grad_z


@jax.jit
def kde_pair_sums(x, w, h):
    """log ρ̂(x_i) = log Σ_j w_j exp(-|x_i - x_j|²/2h²) - (d/2) log(2πh²): one matmul, one exp per pair."""
    sq = jnp.sum(x * x, axis=1)
    d2 = sq[:, None] + sq[None, :] - 2 * x @ x.T
    return jnp.log(jnp.exp(-d2 / (2 * h * h)) @ w) - 0.5 * x.shape[1] * jnp.log(2 * jnp.pi * h * h)


def sampling_rows(sizes, repeats) -> list[Row]:
    rows = []
    target = mfbd.problems.make_target("four_mode_mixture")
    problem = mfbd.problems.sampling(target, bandwidth=1.0)
    for n in sizes:
        x = target.init_particles(jax.random.key(1), n).astype(jnp.float32)
        w = jnp.full((n,), 1.0 / n)
        want = mfbd.problems.kde_log_density(x, x, w, 1.0)
        np.testing.assert_allclose(kde_pair_sums(x, w, 1.0), want, rtol=1e-4, atol=1e-4)
        scheme = mfbd.birth_death(problem, 0.01, 1.0, noise=1.0)
        state = scheme.init(x)
        step = jax.jit(scheme.step)
        fns = {"essential": partial(kde_pair_sums, x, w, 1.0), "step": partial(step, jax.random.key(2), state)}
        t = interleaved(fns, repeats)
        case = "KDE pair sums / bd-Langevin step"
        rows.append(_row(f"roofline: sampling four modes n={n} d=2 h=1 float32", t, case=case))
    return rows


def _against_a_step(problem, particles, essential, repeats):
    """``essential()`` and one jitted gradient-flow step of ``problem`` from ``particles``, timed interleaved."""
    scheme = mfbd.gradient_flow(problem, 0.01)
    step = partial(jax.jit(scheme.step), jax.random.key(2), scheme.init(particles))
    return interleaved({"essential": essential, "step": step}, repeats)


def kernel_rows(sizes, repeats) -> list[Row]:
    rows = []
    for n in sizes:
        problem = mfbd.problems.gaussian_mixture_1d(block_size=max(n, 1024))
        particles = problem.init_particles(jax.random.key(1), n)
        w = jnp.full((n,), 1.0 / n)
        ev = problem.evaluate(particles, w, jax.random.key(0))
        v, gy, _ = kernel_essential(particles["y"], particles["c"], w)
        np.testing.assert_allclose(v, ev.potential, rtol=2e-3, atol=1e-5)
        np.testing.assert_allclose(gy, ev.grad_potential["y"], rtol=2e-3, atol=1e-5)
        t = _against_a_step(problem, particles, partial(kernel_essential, particles["y"], particles["c"], w), repeats)
        rows.append(_row(f"roofline: kernel mode exp1 n={n} float32", t))
    return rows


def data_rows(n, dims, repeats) -> list[Row]:
    rows = []
    for dim in dims:
        problem = mfbd.problems.student_teacher(jax.random.key(0), dim=dim, mode="data", batch_size=n, block_size=256)
        particles = problem.init_particles(jax.random.key(1), n)
        w = jnp.full((n,), 1.0 / n)
        u = problem.meta.directions
        sign = problem.meta.signs
        x = jax.random.normal(jax.random.key(3), (n, dim))
        x = x / jnp.linalg.norm(x, axis=1, keepdims=True)
        fixed = mfbd.problems.student_teacher(jax.random.key(0), dim=dim, mode="data", data=x, block_size=256)
        ev = fixed.evaluate(particles, w, jax.random.key(0))
        essential = jax.jit(data_essential)
        with jax.default_matmul_precision("float32"):
            v, _, gz = essential(particles["z"], particles["c"], w, x, u, sign)
        np.testing.assert_allclose(v, ev.potential, rtol=2e-3, atol=1e-5)
        np.testing.assert_allclose(gz, ev.grad_potential["z"], rtol=2e-3, atol=1e-5)
        essential_pass = partial(essential, particles["z"], particles["c"], w, x, u, sign)
        t = _against_a_step(problem, particles, essential_pass, repeats)
        note = "; context: on CPU the blocked matmuls alone run slower than the fused step, so they bound nothing"
        rows.append(_row(f"roofline: data mode n=m={n} d={dim} block=256 float32", t, "", note))
    return rows


def _row(bench: str, t, target=TARGET, note="", case="essential arithmetic / gradient_flow step") -> Row:
    return Row(
        benchmark=bench,
        case=case,
        value=t.best("step") * 1e3,
        unit="ms",
        baseline="essential",
        baseline_value=t.best("essential") * 1e3,
        ratio=t.best_ratio("essential", "step"),
        target=target,
        note=f"median of per-round ratios {t.ratio('essential', 'step'):.3f}{note}",
    )


def run(settings: Settings) -> list[Row]:
    sizes = (200, 1000) if settings.quick else (200, 1000, 5000)
    rows = kernel_rows(sizes, settings.reps(15))
    rows += data_rows(1024 if settings.quick else 4096, (5, 50), settings.reps(9))
    return rows + sampling_rows((500,) if settings.quick else (500, 5000), settings.reps(15))


main = standalone(run, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
