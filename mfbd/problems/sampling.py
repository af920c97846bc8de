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
SVGD heuristic), recomputed at every evaluation: over all pairs when n(n - 1) ≤
``num_pairs`` = 4096 (40 bisection sweeps), else over 4096 uniform random pairs i ≠ j
drawn with the evaluation key and weighted by w_i w_j (an estimate of the heuristic,
relative error about 1%; 24 sweeps, to 2⁻²⁴ of the largest distance), by bisection
over those pairs (XLA's sort is slower on CPU).

**Cost.** At the particles themselves ρ̂(θ_i) ≥ w_i K_h(0) > 0, so the pairwise sums
Σ_j w_j e^{-‖θ_i - θ_j‖²/2h²} are taken directly (one exp per pair, no log-sum-exp max
pass; weights scaled by max w, so only a unit of relative weight below 1e-308 could
underflow, and it is floored). For n ≤ ``block_size`` the symmetric matrix K_ij is
computed once per evaluation on the tiles of its upper triangle (about n²/2
exponentials) and kept, so the "kl" rate's second sum reuses it; larger n goes in
blocks of rows (memory O(n · block_size), n² exponentials per sum). The exponentials
are the floor of the cost; two options cut it:

* ``leave_one_out=True``: ρ̂₋ᵢ(θ_i) = Σ_{j≠i} w_j K_h(θ_i - θ_j)/(1 - w_i), which drops
  the self-term w_i K_h(0), a finite-n bias of the "pde" rate (it inflates ρ̂, hence V,
  at isolated particles in the tails, so the reaction kills the tails);
* ``neighbours=p``: the sum over j ≠ i replaced by ((n - 1)/(p - 1)) times its sum
  over p - 1 other particles, a systematic sample drawn at every evaluation (the
  particles at p - 1 evenly spaced index offsets from i after one random start, so each
  other particle is in it with probability (p - 1)/(n - 1)): an unbiased estimate of
  ρ̂(θ_i), whose logarithm is biased by about -Var/(2ρ̂²) = O(1/p); cost n(p - 1)
  pairs instead of n², and no sort.

Both are options of the ``"pde"`` rate with Langevin transport. A third keeps the estimator and
lowers the precision of its exponentials:

* ``kernel_dtype="float32"``: in a float64 run, the kernel values e^{-‖θ_i - θ_j‖²/2h²} and their
  weighted sums in float32 (positions centred on their mean before the cast), the logarithm and everything
  else in float64. Each kernel value has a relative error of about 1e-7 · (1 + ‖θ_i - θ_j‖²/2h²) and a sum
  about 1e-7 of itself, far below the estimator's own O((n h^d ρ)^{-1/2}) noise; a sum is floored at the
  unit's own term w_i/max w, which float32 could flush to zero for weights below 1e-38 of the largest.
  The exponentials are about half the cost (not with ``leave_one_out``, whose subtraction of the self-term
  needs the run's precision).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mfbd._checks import choice, positive
from mfbd.problems.bandwidth import median_bandwidth
from mfbd.problems.base import Evaluation, Problem, check_size, map_rows
from mfbd.problems.non_interacting import non_interacting
from mfbd.problems.targets import Target

__all__ = ["RATES", "TRANSPORTS", "PassCost", "SamplingMeta", "kde_log_density", "median_bandwidth", "sampling"]

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


def _pair_sums(rows, others, vector, h2, exclude=None):
    """Σ_j v_j e^{-‖r - θ_j‖²/2h²} for each row r ``[m, d]`` of ``rows`` (one matmul and one exp per pair);
    ``exclude [m]`` drops the term j = exclude[r] (the row's own particle)."""
    sq = jnp.sum(rows * rows, -1)[:, None] + jnp.sum(others * others, -1)[None, :]
    sq = sq - 2.0 * jnp.matmul(rows, others.T, precision=jax.lax.Precision.HIGHEST)
    kernel = jnp.exp(-jnp.maximum(sq, 0.0) / (2.0 * h2))
    if exclude is not None:
        kernel = jnp.where(exclude[:, None] == jnp.arange(others.shape[0])[None, :], 0.0, kernel)
    return kernel @ vector


def _neighbour_sums(key, x, vector, h2, p):
    """((n - 1)/(p - 1)) Σ_{j ∈ S_i} v_j e^{-‖θ_i - θ_j‖²/2h²} over the p - 1 others S_i = {i + s_k mod n}, with
    s_k = 1 + (r + k⌊(n - 1)/(p - 1)⌋) mod (n - 1), k < p - 1, and one uniform r ∈ {0, ..., n - 2} per call:
    the s_k are distinct, so each j ≠ i is in S_i for p - 1 of the n - 1 values of r, and the estimate of the
    sum over j ≠ i is unbiased; n(p - 1) pairs and no sort (a random permutation costs ~4 Langevin steps)."""
    n = x.shape[0]
    r = jax.random.randint(key, (), 0, n - 1)
    offsets = 1 + (r + (n - 1) // (p - 1) * jnp.arange(p - 1)) % (n - 1)
    neighbours = (jnp.arange(n)[:, None] + offsets[None, :]) % n  # [n, p - 1]
    sq = jnp.sum((x[:, None, :] - x[neighbours]) ** 2, axis=-1)
    return (n - 1) / (p - 1) * jnp.sum(jnp.exp(-sq / (2.0 * h2)) * vector[neighbours], axis=-1)


#: The tile edge of :func:`_kernel_tiles`: n is cut into ⌈n/TILE⌉ tiles of equal size.
TILE = 64


def _squared_distances(a, b):
    """‖a_i - b_j‖² ``[..., m, m]`` for ``a, b [..., m, d]``: by coordinates for d ≤ 8 (exact, 0 on the
    diagonal), else by ‖a‖² + ‖b‖² - 2a·b (one matmul; floored at 0)."""
    d = a.shape[-1]
    if d <= 8:
        return sum((a[..., :, None, k] - b[..., None, :, k]) ** 2 for k in range(d))
    sq = jnp.sum(a * a, -1)[..., :, None] + jnp.sum(b * b, -1)[..., None, :]
    return jnp.maximum(sq - 2.0 * jnp.einsum("...ik,...jk->...ij", a, b, precision=jax.lax.Precision.HIGHEST), 0.0)


def _kernel_tiles(x, h2):
    """The upper triangle of the symmetric K_ij = e^{-‖θ_i - θ_j‖²/2h²} in tiles: the particles (padded) cut
    into T = ⌈n/TILE⌉ tiles of m = ⌈n/T⌉ rows, and K on the T(T + 1)/2 tile pairs a ≤ b, ``[P, m, m]``:
    about n²/2 exponentials instead of n² (memory n²/2)."""
    n, d = x.shape
    t = -(-n // TILE)
    m = -(-n // t)
    a, b = np.triu_indices(t)
    tiles = jnp.pad(x, ((0, t * m - n), (0, 0))).reshape(t, m, d)
    return jnp.exp(-_squared_distances(tiles[a], tiles[b]) / (2.0 * h2))


def _tile_sums(kernel, vector):
    """Σ_j K_ij v_j ``[n]`` from :func:`_kernel_tiles`: each tile pair a < b adds K_ab v_b to rows a and
    K_abᵀ v_a to rows b (the pair a = b once)."""
    n, (p, m, _) = vector.shape[0], kernel.shape
    t = int(round((np.sqrt(8 * p + 1) - 1) / 2))
    a, b = np.triu_indices(t)
    v = jnp.pad(vector, (0, t * m - n)).reshape(t, m)
    rows = jnp.einsum("pij,pj->pi", kernel, v[b])
    cols = jnp.einsum("pij,pi->pj", kernel, v[a]) * jnp.asarray(a != b, vector.dtype)[:, None]
    return jnp.zeros((t, m), vector.dtype).at[a].add(rows).at[b].add(cols).reshape(-1)[:n]


def _sums(rows, others, vector, h2, block_size, exclude=None):
    """:func:`_pair_sums` in blocks of ``block_size`` rows (memory O(n · block_size))."""
    if rows.shape[0] <= block_size:
        return _pair_sums(rows, others, vector, h2, exclude)
    index = jnp.zeros(rows.shape[0], jnp.int32) if exclude is None else exclude

    def row(item):
        r, i = item
        return _pair_sums(r[None], others, vector, h2, None if exclude is None else i[None])[0]

    return jax.lax.map(row, (rows, index), batch_size=block_size)


class PassCost(NamedTuple):
    """The work of one oracle pass at n particles: ``grad_evals`` of ∇log π, ``kernel_evals`` of K_h pairs,
    ``bandwidth_pairs`` of the median bandwidth's pairs."""

    grad_evals: int
    kernel_evals: int
    bandwidth_pairs: int = 0


@dataclasses.dataclass(frozen=True, eq=False)
class SamplingMeta:
    """The constants of a sampling problem (its ``Problem.meta``).

    Attributes:
      target: the :class:`~mfbd.problems.targets.Target` (None: a log-density function).
      rate, transport, bandwidth, leave_one_out, neighbours, kernel_dtype: the options of :func:`sampling`.
      bandwidth_of: ``(particles, weights, key) -> h``.
      cost: ``n -> PassCost``, the work of one oracle pass at n particles.
      transport_only: with ``transport="langevin"``, ``non_interacting(-log π)``: the same transport field
        without the O(n²) KDE, for pure-transport (Langevin) runs, whose V and E are then U = -log π, not V
        and E_h (its own meta's ``cost`` counts ∇log π only); else None.
    """

    target: Target | None
    rate: str
    transport: str
    bandwidth: float | str
    bandwidth_of: Callable
    cost: Callable[[int], PassCost]
    leave_one_out: bool = False
    neighbours: int | None = None
    transport_only: Problem | None = None
    kernel_dtype: str | None = None


def sampling(
    log_target: Target | Callable[[jax.Array], jax.Array],
    *,
    bandwidth: float | str = "median",
    rate: str = "pde",
    transport: str = "langevin",
    leave_one_out: bool = False,
    neighbours: int | None = None,
    kernel_dtype: str | None = None,
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
      leave_one_out: ρ̂ at θ_i without the particle's own kernel (``"pde"``, ``"langevin"`` only).
      neighbours: p ≥ 2: estimate ρ̂(θ_i) from p - 1 random other particles per evaluation
        (``"pde"``, ``"langevin"`` only; None: all n).
      kernel_dtype: ``"float32"``: the kernel values and their sums in float32 in a float64 run (about half
        the cost of the exponentials; see the module docstring); None: the particles' dtype.
      init_particles: ``(key, n) -> [n, d]`` μ₀ (default: the target's start).
      block_size: rows of the pairwise sums evaluated at once.
      name: the problem's name (default ``sampling[target,rate,transport]``).

    Returns:
      A :class:`~mfbd.problems.Problem` whose oracle gives V, the transport
      gradient and E_h (up to log Z). Its ``meta`` is a :class:`SamplingMeta`.

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
    if neighbours is not None and check_size("neighbours", neighbours) < 2:
        raise ValueError(f"neighbours must be at least 2 (the particle and one other), got {neighbours}")
    if (leave_one_out or neighbours is not None) and (rate, transport) != ("pde", "langevin"):
        raise ValueError("leave_one_out and neighbours work with rate='pde', transport='langevin' only")
    if kernel_dtype is not None:
        choice("kernel_dtype", kernel_dtype, ("float32",))
        if leave_one_out:
            raise ValueError(
                "kernel_dtype='float32' does not combine with leave_one_out (its subtraction of the self-term needs "
                "the run's precision); drop one of them"
            )
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

    def log_rho_at_particles(key, x, weights, h2, kernel):
        """log ρ̂(θ_i) (or its leave-one-out or p-neighbour estimate) from the scaled weights w/max w, with
        the kernel tiles of :func:`_kernel_tiles` when given; ``x`` and ``kernel`` in the kernel's dtype."""
        n, d = x.shape
        if neighbours is not None and neighbours > n:
            raise ValueError(f"neighbours = {neighbours} exceeds the n = {n} particles; choose p ≤ n")
        w_max = jnp.max(weights)
        scaled = weights / w_max
        low, h2_low = scaled.astype(x.dtype), h2.astype(x.dtype)
        if neighbours is not None:
            sums = _neighbour_sums(key, x, low, h2_low, neighbours)
        elif kernel is not None:  # K_ii = 1: leave-one-out drops it
            sums = _tile_sums(kernel, low) - (low if leave_one_out else 0.0)
        else:
            sums = _sums(x, x, low, h2_low, block_size, jnp.arange(n) if leave_one_out else None)
        sums = sums.astype(weights.dtype)
        if kernel_dtype is not None and neighbours is None:  # the unit's own term, in the run's precision
            sums = jnp.maximum(sums, scaled)
        if leave_one_out:
            sums = sums / jnp.maximum(1.0 - weights, jnp.finfo(weights.dtype).tiny)
        elif neighbours is not None:
            sums = sums + scaled
        log_norm = 0.5 * d * jnp.log(2 * jnp.pi * h2)
        return jnp.log(jnp.maximum(sums, jnp.finfo(sums.dtype).tiny)) + jnp.log(w_max) - log_norm

    @jax.jit
    def evaluate(particles, weights, key=None):
        key = jax.random.key(0) if key is None else key
        others = jax.lax.stop_gradient(particles)
        centred = others - jnp.mean(others, axis=0)  # same distances, smaller norms in ‖a‖² + ‖b‖² - 2a·b
        log_w = _log_weights(weights)
        h2 = jax.lax.stop_gradient(bandwidth_of(others, weights, key)) ** 2
        log_pi_i, grad_log_pi = log_pi_and_grad(particles)
        small = neighbours is None and others.shape[0] <= block_size  # K in tiles: n²/2 exponentials, kept
        low = jnp.dtype(kernel_dtype or centred.dtype)
        x_low, h2_low = centred.astype(low), h2.astype(low)
        kernel = _kernel_tiles(x_low, h2_low) if small else None
        log_rho_i = log_rho_at_particles(jax.random.fold_in(key, 1), x_low, weights, h2, kernel)
        log_rho_j = jax.lax.stop_gradient(log_rho_i)

        if transport == "blob":

            def log_rho(theta):
                return jax.nn.logsumexp(log_w + _log_kernel_rows(theta, others, h2))

            def back(theta):
                return jnp.exp(jax.nn.logsumexp(log_w - log_rho_j + _log_kernel_rows(theta, others, h2)))

            def log_v(theta):  # V(θ) + log π(θ)
                return log_rho(theta) + back(theta) - 1.0 if rate == "kl" else log_rho(theta)

            v_plus, grad = map_rows(jax.value_and_grad(log_v), particles, block_size)
            grad = grad - grad_log_pi
        else:
            v_plus = log_rho_i
            if rate == "kl":  # + Σ_j w_j K_h(θ_j - θ_i)/ρ̂(θ_j) - 1, with w_j/ρ̂(θ_j) ≤ 1/K_h(0)
                u = jnp.exp(log_w - log_rho_j - 0.5 * others.shape[1] * jnp.log(2 * jnp.pi * h2))
                u = u.astype(low)
                back = _tile_sums(kernel, u) if small else _sums(x_low, x_low, u, h2_low, block_size)
                v_plus = v_plus + back.astype(v_plus.dtype) - 1.0
            grad = -grad_log_pi
        energy = jnp.dot(weights, log_rho_i - log_pi_i)
        return Evaluation(v_plus - log_pi_i, grad, energy)

    def cost(n: int) -> PassCost:
        pairs = n * (neighbours - 1) if neighbours is not None else n * n
        passes = {("pde", "langevin"): 1, ("kl", "langevin"): 2, ("pde", "blob"): 2, ("kl", "blob"): 3}
        median = 0 if bandwidth != "median" else min(n * (n - 1), 4096)
        return PassCost(grad_evals=n, kernel_evals=pairs * passes[rate, transport], bandwidth_pairs=median)

    label = target.name if target is not None else "custom"
    name = name or f"sampling[{label},{rate},{transport}]"
    only = None
    if transport == "langevin":
        only = non_interacting(lambda x: -log_pi(x), init, name=f"{name}:transport_only")
        only = dataclasses.replace(only, meta=SamplingMeta(target, rate, transport, bandwidth, bandwidth_of, _langevin))
    meta = SamplingMeta(
        target, rate, transport, bandwidth, bandwidth_of, cost, leave_one_out, neighbours, only, kernel_dtype
    )
    return Problem(evaluate=evaluate, init_particles=init, mode="sampling", name=name, meta=meta)


def _langevin(n: int) -> PassCost:
    """The work of one pass of ``transport_only``: ∇log π at each particle, no K_h pair."""
    return PassCost(grad_evals=n, kernel_evals=0)


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
