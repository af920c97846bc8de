"""Sampling mode: E(μ) = KL(μ‖π) regularised by a kernel density estimate.

Particles are ``[n, d]`` arrays. With a Gaussian kernel K_h of bandwidth h
(normalised on R^d) the weighted density estimate is

.. math:: ρ̂(θ) = Σ_j w_j K_h(θ - θ_j), \\qquad Σ_j w_j = 1,

and the energy, up to log Z, is E_h(μ) = Σ_i w_i [\\log ρ̂(θ_i) - \\log π(θ_i)].
The reaction potential V has two rates:

* ``"pde"`` (Lu, Lu and Nolen 2019): V_i = log ρ̂(θ_i) - log π(θ_i);
* ``"kl"`` (Lu, Slepčev and Wang 2023): the exact first variation of E_h,
  V_i = log ρ̂(θ_i) - log π(θ_i) + Σ_j w_j K_h(θ_j - θ_i)/ρ̂(θ_j) - 1
  (the -1 makes it comparable with ``"pde"``; constants cancel in β = V - V̄).

The gradient field of the oracle is what the schemes transport with:

* ``transport="langevin"``: ∇U = -∇log π, the Langevin drift. Run the schemes with
  ``noise=1``: θ ← θ - Δt∇U + √(2Δt)ξ is the Fokker–Planck flow
  ∂_t μ = ∇·(μ∇U) + Δμ. (The log ρ̂ part of V is the diffusion: it is not also
  transported, which would count the diffusion twice.)
* ``transport="blob"``: ∇_θ V(θ, μ) of the chosen rate with μ (and h) held fixed,
  run with ``noise=0``; with ``rate="kl"`` this is the blob method, the exact
  gradient flow of E_h.

log ρ̂ is a log-sum-exp over j, evaluated ``block_size`` rows at a time (memory
O(n · block_size), two passes for ``"kl"``); it stays finite at exactly coincident
particles, as after every duplication. Weights of a weighted measure (scheme B)
enter ρ̂.

**Bandwidth.** A number h > 0, or ``"median"``: h = med/√(2 log n), with med² the
w-weighted median of the pairwise squared distances ‖θ_i - θ_j‖², i ≠ j (the
SVGD heuristic), recomputed at every evaluation. Cost: 40 bisection sweeps over
the m(m-1) pairs of m = min(n, 256) particles per evaluation (O(40 m²) time, O(m²)
memory; a sort was slower on CPU); when n > 256 the m particles are a uniform random subset drawn with the
evaluation key, so h is then an estimate of the heuristic. (Measured on 2 shared CPU
cores, n = 500 in 2-D: an exact sort over all n² pairs cost 183 ms per step, a
sort over 256 particles 35–40 ms, this bisection 5 ms, against 1–2 ms for the
pairwise sums with a fixed h.)
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from mfbd._checks import choice, positive
from mfbd.problems.base import Evaluation, Problem, check_size, map_rows
from mfbd.problems.non_interacting import non_interacting
from mfbd.problems.targets import Target

__all__ = ["RATES", "TRANSPORTS", "kde_log_density", "median_bandwidth", "sampling"]

RATES = ("pde", "kl")
TRANSPORTS = ("langevin", "blob")


def _log_kernel_rows(theta, others, h2):
    """log K_h(θ - θ_j) for every row θ_j of ``others`` ``[n, d]``."""
    d = others.shape[-1]
    sq = jnp.sum((theta - others) ** 2, axis=-1)
    return -0.5 * sq / h2 - 0.5 * d * jnp.log(2 * jnp.pi * h2)


def _log_weights(weights):
    return jnp.log(jnp.maximum(weights, jnp.finfo(weights.dtype).tiny))


def kde_log_density(x, particles, weights, bandwidth, block_size: int = 1024):
    """log ρ̂(x_k) = log Σ_j w_j K_h(x_k - θ_j) for the rows of ``x`` ``[m, d]`` (blocked)."""
    log_w = _log_weights(weights)
    h2 = jnp.asarray(bandwidth, particles.dtype) ** 2
    return map_rows(lambda t: jax.nn.logsumexp(log_w + _log_kernel_rows(t, particles, h2)), x, block_size)


def median_bandwidth(particles, weights, key=None, max_particles: int = 256):
    """The median heuristic h = med/√(2 log n) over at most ``max_particles`` particles
    (a random subset drawn with ``key`` beyond that; see the module docstring for its cost)."""
    n = particles.shape[0]
    if n < 2:
        raise ValueError("bandwidth='median' needs at least 2 particles")
    if n > max_particles:
        index = jax.random.permutation(jax.random.key(0) if key is None else key, n)[:max_particles]
        particles, weights = particles[index], weights[index]
    m = particles.shape[0]
    x = jax.lax.stop_gradient(particles)
    sq = jnp.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)
    pair_w = jnp.where(jnp.eye(m, dtype=bool), 0.0, weights[:, None] * weights[None, :])
    half = 0.5 * jnp.sum(pair_w)

    def bisect(_, bounds):  # the smallest t with Σ_{d² ≤ t} w_i w_j ≥ half, to 2⁻⁴⁰ of max d²
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        below = jnp.sum(jnp.where(sq <= mid, pair_w, 0.0)) >= half
        return jnp.where(below, lo, mid), jnp.where(below, mid, hi)

    med2 = jax.lax.fori_loop(0, 40, bisect, (jnp.zeros((), x.dtype), jnp.max(sq)))[1]
    med2 = jnp.maximum(med2, jnp.finfo(x.dtype).eps)  # all particles coincide: any h > 0 will do
    return jnp.sqrt(med2 / float(2.0 * np.log(n)))


def sampling(
    log_target: Target | Callable[[jax.Array], jax.Array],
    *,
    bandwidth: float | str = "median",
    rate: str = "pde",
    transport: str = "langevin",
    init_particles: Callable[[jax.Array, int], jax.Array] | None = None,
    block_size: int = 1024,
    name: str | None = None,
) -> Problem:
    """A sampling problem for π ∝ exp(log_target) (see the module docstring).

    Args:
      log_target: a :class:`~mfbd.problems.targets.Target`, or ``θ [d] -> log π(θ)``
        up to a constant (then ``init_particles`` is required).
      bandwidth: h > 0 of the Gaussian kernel, or ``"median"`` (recomputed each evaluation).
      rate: ``"pde"`` or ``"kl"`` (which V drives the reaction).
      transport: ``"langevin"`` (gradient field ∇U; use ``noise=1``) or ``"blob"`` (∇V; ``noise=0``).
      init_particles: ``(key, n) -> [n, d]`` μ₀ (default: the target's start).
      block_size: rows of the pairwise sums evaluated at once.
      name: the problem's name (default ``sampling[target,rate,transport]``).

    Returns:
      A :class:`~mfbd.problems.Problem` whose oracle gives V, the transport
      gradient and E_h (up to log Z). ``extras`` holds the target, the rate, the
      transport and ``bandwidth_of(particles, weights, key)``; with
      ``transport="langevin"`` also ``"transport_only"``: ``non_interacting(-log π)``,
      the same transport field without the O(n²) KDE, for pure-transport (Langevin)
      runs, whose V and E are then U = -log π, not V and E_h.

    Example:
      >>> import jax, mfbd
      >>> from mfbd.problems import make_target, sampling
      >>> problem = sampling(make_target("double_well"), bandwidth=0.3)
      >>> scheme = mfbd.birth_death(problem, dt=0.01, alpha=1.0, noise=1.0)
      >>> state = scheme.init(problem.init_particles(jax.random.key(0), 64))
      >>> state, info = jax.jit(scheme.step)(jax.random.key(1), state)
    """
    choice("rate", rate, RATES)
    choice("transport", transport, TRANSPORTS)
    check_size("block_size", block_size)
    if isinstance(bandwidth, str):
        choice("bandwidth", bandwidth, ("median",))
    else:
        positive("bandwidth", bandwidth)
    target = log_target if isinstance(log_target, Target) else None
    log_pi = target.log_density if target is not None else log_target
    init = init_particles if init_particles is not None else (target.init_particles if target else None)
    if init is None:
        raise ValueError("sampling needs init_particles when log_target is a function, not a Target")
    _probe(log_pi, init)

    def bandwidth_of(particles, weights, key=None):
        if bandwidth == "median":
            return median_bandwidth(particles, weights, key)
        return jnp.asarray(bandwidth, particles.dtype)

    log_pi_and_grad = jax.vmap(jax.value_and_grad(log_pi))

    @jax.jit
    def evaluate(particles, weights, key=None):
        others = jax.lax.stop_gradient(particles)
        log_w = _log_weights(weights)
        h2 = jax.lax.stop_gradient(bandwidth_of(others, weights, key)) ** 2
        log_pi_i, grad_log_pi = log_pi_and_grad(particles)

        def log_rho(theta):
            return jax.nn.logsumexp(log_w + _log_kernel_rows(theta, others, h2))

        log_rho_i = map_rows(log_rho, others, block_size)
        log_rho_j = jax.lax.stop_gradient(log_rho_i)

        def back(theta):  # Σ_j w_j K_h(θ_j - θ)/ρ̂(θ_j), the "kl" rate's extra term
            return jnp.exp(jax.nn.logsumexp(log_w - log_rho_j + _log_kernel_rows(theta, others, h2)))

        def log_v(theta):  # V(θ) + log π(θ)
            return log_rho(theta) + back(theta) - 1.0 if rate == "kl" else log_rho(theta)

        if transport == "blob":
            v_plus, grad = map_rows(jax.value_and_grad(log_v), particles, block_size)
            grad = grad - grad_log_pi
        else:
            v_plus = log_rho_i + map_rows(back, others, block_size) - 1.0 if rate == "kl" else log_rho_i
            grad = -grad_log_pi
        energy = jnp.dot(weights, log_rho_i - log_pi_i)
        return Evaluation(v_plus - log_pi_i, grad, energy)

    label = target.name if target is not None else "custom"
    extras = {"target": target, "rate": rate, "transport": transport, "bandwidth": bandwidth}
    extras["bandwidth_of"] = bandwidth_of
    name = name or f"sampling[{label},{rate},{transport}]"
    if transport == "langevin":
        extras["transport_only"] = non_interacting(lambda x: -log_pi(x), init, name=f"{name}:transport_only")
    return Problem(evaluate=evaluate, init_particles=init, mode="sampling", name=name, extras=extras)


def _probe(log_pi, init):
    """One-line errors for a log-target of the wrong shape or non-finite at the start."""
    try:
        spec = jax.eval_shape(lambda k: init(k, 2), jax.random.key(0))
    except Exception as error:
        raise ValueError(f"init_particles(key, n) failed: {error}".splitlines()[0]) from error
    if not hasattr(spec, "shape") or len(spec.shape) != 2 or spec.shape[0] != 2:
        raise ValueError(f"init_particles(key, n) must return an [n, d] array, got {spec}")
    out = jax.eval_shape(log_pi, jax.ShapeDtypeStruct(spec.shape[1:], spec.dtype))
    if getattr(out, "shape", None) != ():
        raise ValueError(f"log_target must map one point [d] to a scalar, got shape {getattr(out, 'shape', out)}")
    start = init(jax.random.key(0), 64)
    if not bool(jnp.all(jnp.isfinite(jax.vmap(log_pi)(start)))):
        raise ValueError("log_target is not finite at the initial particles; check its domain or init_particles")
