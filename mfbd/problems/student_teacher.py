"""Experiment 2 of the paper: a ReLU student learning a ReLU teacher.

A unit is θ = (c, z) with z ∈ R^d and φ(x, θ) = s·c·relu(z·x), where the scale
s is 1 in the mean-field scaling (f_μ = (1/n) Σ c_i relu(z_i·x)) and s = n in the
"standard" scaling of the notebooks (f = Σ c_i relu(z_i·x), no 1/n).

The teacher is f*(x) = Σ_j σ_j relu(u_j·x) with unit vectors u_j and signs σ_j
(paper-notes §5: z_j ~ N(0, I), output weights a_j, each row rescaled to
|a_j|·‖z_j‖ = 1).

Kernel mode uses the arc-cosine kernel. For x uniform on the sphere S^{d-1}

.. math::

   κ(u, v) = E[relu(u·x) relu(v·x)]
           = \\frac{‖u‖‖v‖}{2πd} (\\sin ϕ + (π - ϕ)\\cos ϕ), \\qquad ϕ = ∠(u, v),

(drop the 1/d for x ~ N(0, I)). Its gradient, written in closed form,

.. math:: ∇_u κ = \\frac{1}{2πd} \\Big((π - ϕ) v + \\frac{‖v‖ \\sin ϕ}{‖u‖} u\\Big),

is finite at ϕ = 0, where autodiff through arccos gives NaN; duplicated units
coincide exactly, so this matters.

**Standard scaling and mean-field time.** With s = n and uniform weights 1/n the
network is f = Σ_i c_i relu(z_i·x) and E = ½·mean(r²) = ℓ/2 for the notebooks'
loss ℓ = mean(r²). Then ∇_θ V_i = (n/2)·∇_{θ_i} ℓ, so SGD with learning rate
``lr`` is the Euler step of the transport with ``dt = 2·lr/n``; and the
notebooks' per-step birth-death probability ``α_nb·|c_i ∂ℓ/∂c_i| = α_nb·(2/n)|V_i|``
equals ``α·dt·|V_i|`` with ``α = α_nb/lr``. :func:`notebook_time` does this conversion.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mfbd._checks import choice, positive
from mfbd.problems.base import Evaluation, Problem, check_size, map_rows
from mfbd.problems.data import from_data

__all__ = ["student_teacher", "TeacherMeta", "arccos_kernel", "notebook_time", "INPUTS", "MODES", "SCALINGS"]

INPUTS = ("sphere", "gaussian")
MODES = ("kernel", "data")
SCALINGS = ("mean_field", "standard")


@jax.custom_jvp
def _arccos_kernel_unscaled(u, v):
    """2π·E_{x~N(0,I)}[relu(u·x) relu(v·x)] = ‖u‖‖v‖ sin ϕ + (π - ϕ) u·v."""
    nu, nv, s, phi = _angles(u, v)
    return nu * nv * jnp.sin(phi) + (jnp.pi - phi) * s


def _angles(u, v):
    nu = jnp.linalg.norm(u)
    nv = jnp.linalg.norm(v)
    s = jnp.dot(u, v)
    tiny = jnp.finfo(u.dtype).tiny
    cos = jnp.clip(s / jnp.maximum(nu * nv, tiny), -1.0, 1.0)
    return nu, nv, s, jnp.arccos(cos)


@_arccos_kernel_unscaled.defjvp
def _arccos_kernel_jvp(primals, tangents):
    u, v = primals
    du, dv = tangents
    nu, nv, s, phi = _angles(u, v)
    sin = jnp.sin(phi)
    tiny = jnp.finfo(u.dtype).tiny
    value = nu * nv * sin + (jnp.pi - phi) * s
    grad_u = (jnp.pi - phi) * v + (nv * sin / jnp.maximum(nu, tiny)) * u
    grad_v = (jnp.pi - phi) * u + (nu * sin / jnp.maximum(nv, tiny)) * v
    return value, jnp.dot(grad_u, du) + jnp.dot(grad_v, dv)


def arccos_kernel(u, v, inputs: str = "sphere"):
    """κ(u, v) = E[relu(u·x) relu(v·x)] for x uniform on S^{d-1} or x ~ N(0, I)."""
    scale = 2 * jnp.pi * (u.shape[-1] if inputs == "sphere" else 1)
    return _arccos_kernel_unscaled(u, v) / scale


def notebook_time(lr: float, alpha: float, width: int) -> tuple[float, float]:
    """Convert the notebooks' SGD learning rate and birth-death α to mfbd's (dt, α).

    For the standard scaling (see the module docstring): dt = 2·lr/n, α = α_nb/lr.
    """
    return 2.0 * lr / width, alpha / lr


def _sample_inputs(inputs):
    def sample(key, m, dim):
        x = jax.random.normal(key, (m, dim))
        if inputs == "sphere":
            x = x / jnp.linalg.norm(x, axis=-1, keepdims=True)
        return x

    return sample


def _kappa_rows(z, others, other_norms, norm_const):
    """κ(z, v_j) for the rows v_j of ``others`` and its gradient in z, written as
    ∇_z κ(z, v_j) = A_j v_j + B_j z/‖z‖ (module docstring)."""
    nz = jnp.linalg.norm(z)
    g = others @ z
    prod = nz * other_norms
    cos = jnp.clip(g / jnp.maximum(prod, jnp.finfo(z.dtype).tiny), -1.0, 1.0)
    phi = jnp.arccos(cos)
    sin = jnp.sqrt(jnp.maximum(1.0 - cos * cos, 0.0))
    kappa = (prod * sin + (jnp.pi - phi) * g) / norm_const
    return kappa, (jnp.pi - phi) / norm_const, other_norms * sin / norm_const


def _gram_kernel_problem(u, sign, scale, inputs, common) -> Problem:
    """Kernel mode through Gram matrices: O(n²) scalars and (n × n)·(n × d) products.

    For one unit θ = (c, z) against the population, with a_j = w_j c_j and F̂(z) = Σ_t σ_t κ(z, u_t),

        V = s c (-F̂ + s Σ_j a_j κ(z, z_j)),   ∂_c V = V / c,
        ∇_z V = s c (-∇F̂ + s Σ_j a_j ∇_z κ(z, z_j)),   E = C_f + ½ Σ_i w_i (V_i - F_i),

    with F_i = s c_i F̂(z_i). Rows are processed in blocks of ``block_size``.
    """
    dim = u.shape[1]
    norm_const = 2 * np.pi * (dim if inputs == "sphere" else 1)
    gram = jax.vmap(jax.vmap(arccos_kernel, (None, 0, None)), (0, None, None))(u, u, inputs)
    C_f = 0.5 * float(sign @ gram @ sign)
    block_size = common.pop("block_size")

    def unit(theta, z_all, z_norms, a):
        z, c = theta["z"], theta["c"]
        dtype = z.dtype
        teacher, teacher_sign = u.astype(dtype), sign.astype(dtype)
        direction = z / jnp.maximum(jnp.linalg.norm(z), jnp.finfo(dtype).tiny)
        k, A, B = _kappa_rows(z, z_all, z_norms, norm_const)
        kt, At, Bt = _kappa_rows(z, teacher, jnp.ones(teacher.shape[0], dtype), norm_const)
        f_hat = kt @ teacher_sign
        interaction = k @ a
        grad_f_hat = (At * teacher_sign) @ teacher + (Bt @ teacher_sign) * direction
        grad_interaction = (A * a) @ z_all + (B @ a) * direction
        dv_dc = scale * (-f_hat + scale * interaction)
        grad = {"c": dv_dc, "z": scale * c * (-grad_f_hat + scale * grad_interaction)}
        return c * dv_dc, grad, scale * c * f_hat

    @jax.jit
    def evaluate(particles, weights, key=None):
        del key
        z_all = particles["z"]
        z_norms = jnp.linalg.norm(z_all, axis=1)
        a = weights * particles["c"]

        def row(theta):
            return unit(theta, z_all, z_norms, a)

        v, grad, f = map_rows(row, particles, block_size)
        return Evaluation(v, grad, jnp.asarray(C_f, v.dtype) + 0.5 * jnp.dot(weights, v - f))

    return Problem(evaluate=evaluate, mode="kernel", **common)


class TeacherMeta(NamedTuple):
    """The teacher of a student–teacher problem (its ``Problem.meta``): unit ``directions`` u_k ``[K, d]``,
    output ``signs`` ``[K]`` and the student's unit ``scale`` (n for the standard scaling, else 1)."""

    directions: jax.Array
    signs: jax.Array
    scale: float


def student_teacher(
    key: jax.Array,
    dim: int = 50,
    teacher_width: int = 10,
    inputs: str = "sphere",
    mode: str = "kernel",
    batch_size: int = 100,
    scaling: str = "mean_field",
    *,
    width: int | None = None,
    data: jax.Array | None = None,
    prior_std: float | None = None,
    block_size: int = 1024,
) -> Problem:
    """The paper's experiment 2: a student network fitting a ReLU teacher.

    Args:
      key: draws the teacher.
      dim: input dimension d.
      teacher_width: number of teacher units.
      inputs: ``"sphere"`` (Gaussian samples normalised to S^{d-1}) or ``"gaussian"``.
      mode: ``"kernel"`` (population loss by the arc-cosine kernel) or ``"data"``.
      batch_size: fresh samples per evaluation in data mode.
      scaling: ``"mean_field"`` (f = (1/n) Σ c_i relu(z_i·x)) or ``"standard"``
        (f = Σ c_i relu(z_i·x), the notebooks' network; needs ``width``).
      width: the student width n (required for ``"standard"``; there the unit is
        scaled by n so that uniform weights give the notebooks' network).
      data: optional fixed data set ``[m, dim]`` (data mode, full batch).
      prior_std: standard deviation of z under μ_b (c = 0); default 1/n for the
        standard scaling (the 2020 notebook), 1/√d for the mean-field one.
      block_size: rows (kernel) or samples (data) evaluated at once.

    Particles are ``{"c": [n], "z": [n, dim]}``. ``init_particles`` draws
    c ~ N(0, 1), z ~ N(0, I/d) (mean field) or, as the notebook,
    c ~ U(-1/√n, 1/√n), z ~ N(0, I/n) (standard). ``meta`` is a :class:`TeacherMeta`.
    """
    for name, value, allowed in (("inputs", inputs, INPUTS), ("mode", mode, MODES), ("scaling", scaling, SCALINGS)):
        choice(name, value, allowed)
    if scaling == "standard" and width is None:
        raise ValueError("scaling='standard' needs the student width: pass width=n")
    sizes = {"dim": dim, "teacher_width": teacher_width, "block_size": block_size}
    sizes |= {"batch_size": batch_size} if mode == "data" and data is None else {}
    sizes |= {"width": width} if width is not None else {}
    for name, value in sizes.items():
        check_size(name, value)
    if prior_std is not None:
        positive("prior_std", prior_std)

    ku, ka = jax.random.split(key)
    u = jax.random.normal(ku, (teacher_width, dim))
    u = u / jnp.linalg.norm(u, axis=-1, keepdims=True)
    sign = jnp.sign(jax.random.normal(ka, (teacher_width,)))
    scale = float(width) if scaling == "standard" else 1.0
    if prior_std is None:
        prior_std = 1.0 / width if scaling == "standard" else 1.0 / np.sqrt(dim)
    sample_x = _sample_inputs(inputs)

    def init_particles(k, n):
        kc, kz = jax.random.split(k)
        if scaling == "standard":  # PyTorch's default output layer, as in the notebook
            c = jax.random.uniform(kc, (n,), minval=-1.0, maxval=1.0) / np.sqrt(n)
            return {"c": c, "z": jax.random.normal(kz, (n, dim)) / np.sqrt(n)}
        return {"c": jax.random.normal(kc, (n,)), "z": jax.random.normal(kz, (n, dim)) / np.sqrt(dim)}

    def sample_prior(k, n):
        return {"c": jnp.zeros((n,)), "z": prior_std * jax.random.normal(k, (n, dim))}

    def target(x):
        return jnp.dot(jax.nn.relu(x @ u.T.astype(x.dtype)), sign.astype(x.dtype))

    def predict(particles, weights, x):
        return scale * jax.nn.relu(x @ particles["z"].T) @ (weights * particles["c"])

    common = dict(
        init_particles=init_particles,
        sample_prior=sample_prior,
        block_size=block_size,
        name=f"student_teacher[{mode},{scaling}]",
        predict=predict,
        target=jax.vmap(target) if mode == "kernel" else None,
        meta=TeacherMeta(u, sign, scale),
    )

    if mode == "kernel":
        return _gram_kernel_problem(u, sign, scale, inputs, common)

    def unit(x, theta):
        return scale * theta["c"] * jax.nn.relu(jnp.dot(theta["z"], x))

    common.pop("target")
    return from_data(
        unit,
        target,
        sampler=None if data is not None else (lambda k, m: sample_x(k, m, dim)),
        batch_size=batch_size,
        data=data,
        **common,
    )
