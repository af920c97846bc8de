"""Benchmark 1: one data-mode student-teacher step against one matmul and against NumPy.

Width n = 4096 units, a fresh batch of m = 4096 inputs on S^{d-1}, d = 50,
mean-field scaling, float32. The unit of unavoidable work is one ``X @ Z.T``
([m, d] × [d, n]); a step needs two such products (the forward pass and the
gradient in z) plus a few passes over an [n, block] slice.

The NumPy baseline below is the same step written plainly with whole [n, m]
arrays: Euler transport with the carried gradient, a fresh batch, then

.. math::

   a = relu(Z X^T), \\quad r = (w ⊙ c)^T a - f^*(X), \\quad
   V_i = c_i (a r)_i / m, \\quad ∇_c V_i = (a r)_i / m, \\quad
   ∇_z V_i = c_i Σ_k r_k 1[z_i·x_k > 0] x_k / m.

It is checked against ``problem.evaluate`` before it is timed.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import mfbd
from experiments.benchmarks.common import Row, Settings, compile_seconds, interleaved

N = M = 4096
DIM = 50
DT = 0.01
ALPHA = 1.0


class NumpyGradientFlow:
    """The gradient-flow step of the mean-field student in plain NumPy (float32)."""

    def __init__(self, problem, particles, batch_size, seed=0):
        self.u = np.asarray(problem.meta.directions, np.float32)
        self.sign = np.asarray(problem.meta.signs, np.float32)
        self.c = np.array(particles["c"], np.float32)
        self.z = np.array(particles["z"], np.float32)
        self.w = np.full(self.c.shape, 1.0 / self.c.shape[0], np.float32)
        self.m = batch_size
        self.rng = np.random.default_rng(seed)
        self.grad_c, self.grad_z = np.zeros_like(self.c), np.zeros_like(self.z)

    def evaluate(self, x):
        """(V, ∇_c V, ∇_z V, E) at the batch ``x`` [m, d]."""
        pre = self.z @ x.T  # [n, m]
        a = np.maximum(pre, 0.0)
        r = (self.w * self.c) @ a - np.maximum(x @ self.u.T, 0.0) @ self.sign
        ar = (a @ r) / self.m
        grad_z = (self.c / self.m)[:, None] * (np.where(pre > 0, r, np.float32(0.0)) @ x)
        return self.c * ar, ar, grad_z, 0.5 * np.mean(r * r)

    def step(self):
        self.c -= DT * self.grad_c
        self.z -= DT * self.grad_z
        x = self.rng.standard_normal((self.m, self.z.shape[1]), np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        _, self.grad_c, self.grad_z, energy = self.evaluate(x)
        return energy


def check_numpy_baseline(problem, particles):
    """The NumPy formulas give mfbd's V, ∇V and E on one fixed batch.

    At full float32 matmul precision: GPUs default to TF32 products, whose
    rounding flips relu masks near z·x = 0.
    """
    with jax.default_matmul_precision("float32"):
        _check_numpy_baseline(problem, particles)


def _check_numpy_baseline(problem, particles):
    x = jax.random.normal(jax.random.key(7), (256, DIM))
    x = x / jnp.linalg.norm(x, axis=1, keepdims=True)
    fixed = mfbd.problems.student_teacher(jax.random.key(0), dim=DIM, mode="data", data=x, block_size=128)
    small = jax.tree.map(lambda a: a[:512], particles)
    ev = fixed.evaluate(small, jnp.full((512,), 1.0 / 512), jax.random.key(0))
    ref = NumpyGradientFlow(problem, small, 256)
    v, gc, gz, e = ref.evaluate(np.asarray(x))
    for got, want in ((ev.potential, v), (ev.grad_potential["c"], gc), (ev.grad_potential["z"], gz), (ev.energy, e)):
        np.testing.assert_allclose(np.asarray(got), want, rtol=2e-3, atol=1e-5)


def block_size() -> int:
    """Samples per block: [n, 256] slabs stay in cache on CPU; an accelerator takes the whole batch."""
    return 256 if jax.default_backend() == "cpu" else M


def run(settings: Settings) -> list[Row]:
    block = block_size()
    problem = mfbd.problems.student_teacher(jax.random.key(0), dim=DIM, mode="data", batch_size=M, block_size=block)
    particles = problem.init_particles(jax.random.key(1), N)
    check_numpy_baseline(problem, particles)
    schemes = {
        "gradient_flow": mfbd.gradient_flow(problem, DT),
        "birth_death": mfbd.birth_death(problem, DT, ALPHA),
        "reweighting": mfbd.reweighting(problem, DT, ALPHA),
    }
    key = jax.random.key(2)
    x = jax.random.normal(jax.random.key(3), (M, DIM))
    z = particles["z"]
    compile_s, matmul = compile_seconds(lambda a, b: a @ b.T, x, z)
    fns = {"matmul": lambda: matmul(x, z)}
    compile_times = {"matmul": compile_s}
    for name, scheme in schemes.items():
        state = scheme.init(particles)
        compile_times[name], step = compile_seconds(scheme.step, key, state)
        fns[name] = lambda step=step, state=state: step(key, state)
    other_blocks = sorted({1024, M} - {block})  # the student_teacher default, and no blocking
    for other in other_blocks:
        variant = mfbd.problems.student_teacher(jax.random.key(0), dim=DIM, mode="data", batch_size=M, block_size=other)
        scheme = mfbd.gradient_flow(variant, DT)
        state = scheme.init(particles)
        _, step = compile_seconds(scheme.step, key, state)
        fns[f"block {other}"] = lambda step=step, state=state: step(key, state)
    numpy_step = NumpyGradientFlow(problem, particles, M)
    fns["numpy"] = numpy_step.step
    t = interleaved(fns, settings.reps(settings.repeats))

    bench = f"1 data step n=m={N} d={DIM} block={block}"
    ms = 1e3
    note = f"compile {compile_times['matmul']:.2f} s"
    rows = [Row(benchmark=bench, case="matmul X @ Z.T", value=t.median("matmul") * ms, unit="ms", note=note)]
    matmul_ms = t.median("matmul") * ms

    def over(name, case, *, baseline="matmul", baseline_ms=matmul_ms, base_name="matmul", **kw):
        """The row of ``name``'s step time against ``base_name``'s (shown as ``baseline``)."""
        return Row(
            benchmark=bench,
            case=case,
            value=t.median(name) * ms,
            unit="ms",
            baseline=baseline,
            baseline_value=baseline_ms,
            ratio=t.ratio(name, base_name),
            **kw,
        )

    rows.append(over("numpy", "numpy step / matmul", note="plain NumPy, whole [n, m] arrays"))
    for name in schemes:
        target = "<= 2.5" if name == "gradient_flow" else ""
        rows.append(over(name, f"{name} step / matmul", target=target, note=f"compile {compile_times[name]:.2f} s"))
    for other in other_blocks:
        case = f"gradient_flow step / matmul, block_size={other}"
        rows.append(over(f"block {other}", case, note="context: another block size"))
    gd_ms = t.median("gradient_flow") * ms
    speedup = Row(
        benchmark=bench,
        case="numpy / gradient_flow (speed-up)",
        value=gd_ms,
        unit="ms",
        baseline="numpy step",
        baseline_value=t.median("numpy") * ms,
        ratio=t.ratio("numpy", "gradient_flow"),
        target=">= 2",
    )
    rows.append(speedup)
    for name in ("birth_death", "reweighting"):
        case, base = f"{name} / gradient_flow", dict(baseline="gradient_flow step", baseline_ms=gd_ms)
        rows.append(over(name, case, base_name="gradient_flow", target="<= 1.10", **base))
    return rows
