"""What every scheme shares: the state, the per-step info, the unit moves and the checks.

A scheme is ``Scheme(init, step)``:

* ``init(particles, key=None) -> State`` evaluates the oracle once at μ₀;
* ``step(key, state) -> (state, info)`` advances one time step Δt;
* ``order() -> int | None`` is the order in Δt the step delivers (as diffrax
  solvers report theirs): the error of E(T) at fixed T is O(Δt^order), in the
  weak sense (of the mean over seeds) for the stochastic scheme A and under
  Langevin noise; None where the step is no discretisation of the flow (an
  optax optimizer);
* ``census(state) -> (lineages, effective_lineages)`` (or None) is how the step
  computes those two Info fields from its new state, so that
  :func:`mfbd.simulate.run_chunk` computes them once per record rather than
  every step (a sort of the lineage ids).

The step itself (transport, oracle passes, reaction, and their options) is
assembled by :func:`mfbd.schemes.splitting.build_scheme`.

Lineages: every unit carries an int32 id. ``init`` numbers the units 0..n-1; a
duplicate (a copy, a resampled unit) keeps the id of its source; a newborn from
μ_b gets a fresh id from the state's counter ``next_lineage``. ``Info`` reports
the number of distinct lineages and the inverse-Simpson effective number
1/Σ_L m_L², m_L = Σ_{i ∈ L} w_i the mass of lineage L.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mfbd import _checks
from mfbd._random import fold_in_key, random_words, split_key, uniform_below, unit_interval

__all__ = [
    "State",
    "Info",
    "OracleTally",
    "Scheme",
    "check_particles",
    "check_step_parameters",
    "effective_sample_size",
    "fixed_order",
    "fold_in_key",
    "gather_units",
    "lineage_counts",
    "lineage_counts_uniform",
    "new_lineages",
    "random_words",
    "split_key",
    "take_units",
    "uniform_below",
    "unit_interval",
    "uniform_log_weights",
    "where_units",
]

Particles = Any


class State(NamedTuple):
    """What the next step needs. Shapes for n particles.

    Attributes:
      particles: pytree, leading axis n on every leaf.
      log_weights: ``[n]`` log w_i, normalised (uniform -log n for unweighted schemes).
      potential: ``[n]`` V(θ_i, μ) from the last oracle pass.
      grad_potential: ∇_θ V(θ_i, μ) from the last pass, same pytree as particles.
      energy: scalar E(μ) from the last pass.
      step: int32 step counter (also the argument of a rate schedule).
      opt_state: per-unit optax state (``()`` without an optimizer).
      lineage: ``[n]`` int32 lineage id of each unit.
      next_lineage: int32, the id the next newborn from μ_b gets.
    """

    particles: Particles
    log_weights: jax.Array
    potential: jax.Array
    grad_potential: Particles
    energy: jax.Array
    step: jax.Array
    opt_state: Any
    lineage: jax.Array
    next_lineage: jax.Array


class Info(NamedTuple):
    """Per-step diagnostics (not carried).

    Attributes:
      time: mean-field time t = (step + 1)·Δt after the step.
      energy: E after the transport, before the (last) reaction.
      mean_potential: V̄ = Σ_i w_i V_i used by the reaction.
      killed: number of kill events (units with V above the reference removed).
      born: number of births (duplications, or newborns from μ_b).
      ess: effective sample size 1/Σ w_i² after the step.
      lineages: number of distinct lineages with positive mass after the step.
      effective_lineages: inverse Simpson 1/Σ_L m_L² of the lineage masses.
      oracle_passes: int32, the oracle passes (``problem.evaluate`` calls) the
        step made: its cost in units of one evaluation of V, ∇V and E at n units.
      mass: total mass Σ_i w_i after the step (1 for mass-conserving schemes; it
        changes under conic descent, :func:`mfbd.conic`).
      clipped: number of units whose jump probability αΔt|β| exceeded 1 and was
        clipped to 1 (birth-death with ``probability="linear"``; 0 otherwise).
    """

    time: jax.Array
    energy: jax.Array
    mean_potential: jax.Array
    killed: jax.Array
    born: jax.Array
    ess: jax.Array
    lineages: jax.Array
    effective_lineages: jax.Array
    oracle_passes: jax.Array
    mass: jax.Array = 1.0
    clipped: jax.Array | int = 0


def _order_unknown():
    return None


def fixed_order(order: int | None) -> Callable[[], int | None]:
    """The ``order`` field of a :class:`Scheme` whose step delivers ``order``."""

    def order_of_the_step():
        return order

    return order_of_the_step


class OracleTally:
    """An oracle (``evaluate(key, state) -> State``, say) that counts its calls while a step is traced.

    Each call is one oracle pass. A pass inside a loop body is traced once but may
    run many times: call :attr:`uncounted` there and :meth:`add` the loop's (traced)
    count afterwards. :meth:`take` returns the tally and starts a new one.
    """

    def __init__(self, evaluate: Callable):
        self.uncounted = evaluate
        self.passes = 0

    def __call__(self, *args):
        self.passes += 1
        return self.uncounted(*args)

    def add(self, passes) -> None:
        self.passes = self.passes + passes

    def take(self):
        passes, self.passes = self.passes, 0
        return passes


class Scheme(NamedTuple):
    """A particle scheme as pure functions (see the module docstring)."""

    init: Callable[..., State]
    step: Callable[[jax.Array, State], tuple[State, Info]]
    order: Callable[[], int | None] = _order_unknown
    census: Callable[[State], tuple[jax.Array, jax.Array]] | None = None


def uniform_log_weights(n: int, dtype) -> jax.Array:
    """``[n]`` log-weights of the uniform measure, -log n."""
    return jnp.full((n,), -np.log(n), dtype)


def take_units(tree, index: jax.Array, n: int):
    """Gather the per-unit leaves of ``tree`` (leading axis n) at ``index``.

    Leaves without a leading axis n (an optimizer's step count, say) are kept.
    """

    def gather(leaf):
        if jnp.ndim(leaf) >= 1 and jnp.shape(leaf)[0] == n:
            return jnp.take(leaf, index, axis=0)
        return leaf

    return jax.tree_util.tree_map(gather, tree)


def gather_units(state: State, index: jax.Array) -> State:
    """The state whose unit i is the old unit ``index[i]``: particles, carried V and ∇V,
    optimizer state and lineage id."""
    n = state.potential.shape[0]
    carried = (state.particles, state.potential, state.grad_potential, state.opt_state, state.lineage)
    particles, potential, grad, opt_state, lineage = take_units(carried, index, n)
    return state._replace(
        particles=particles, potential=potential, grad_potential=grad, opt_state=opt_state, lineage=lineage
    )


def where_units(mask: jax.Array, on_true, on_false, n: int):
    """Per unit, take ``on_true`` where ``mask`` ([n] bool) else ``on_false``."""

    def pick(a, b):
        if jnp.ndim(a) >= 1 and jnp.shape(a)[0] == n:
            return jnp.where(mask.reshape((n,) + (1,) * (jnp.ndim(a) - 1)), a, b)
        return b

    return jax.tree_util.tree_map(pick, on_true, on_false)


def new_lineages(state: State, mask: jax.Array) -> State:
    """Fresh lineage ids next_lineage, next_lineage + 1, ... for the units in ``mask`` (newborns from μ_b)."""
    mask = mask.astype(jnp.int32)
    fresh = state.next_lineage + jnp.cumsum(mask) - 1
    return state._replace(
        lineage=jnp.where(mask > 0, fresh, state.lineage).astype(jnp.int32),
        next_lineage=(state.next_lineage + jnp.sum(mask)).astype(jnp.int32),
    )


def effective_sample_size(weights: jax.Array) -> jax.Array:
    """ESS = 1/Σ_i w_i² of normalised weights ``[n]``."""
    return 1.0 / jnp.sum(weights * weights)


def lineage_counts(lineage: jax.Array, weights: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(distinct lineages with mass > 0, 1/Σ_L m_L²)`` by one single-operand integer sort (static shapes).

    Unit i's lineage is found in the sorted ids by binary search, so the
    weights need no second sort operand (a multi-operand sort is ~10× slower on
    CPU); m_L sums the w_i of lineage L in index order, as before.
    """
    n = lineage.shape[0]
    ids = jnp.sort(lineage)
    group = jnp.cumsum(jnp.concatenate([jnp.ones(1, jnp.int32), (ids[1:] != ids[:-1]).astype(jnp.int32)])) - 1
    first = jnp.searchsorted(ids, lineage, side="left", method="scan_unrolled")
    mass = jax.ops.segment_sum(weights, group[first], num_segments=n)
    return jnp.sum(mass > 0).astype(jnp.int32), 1.0 / jnp.sum(mass * mass)


def lineage_counts_uniform(lineage: jax.Array, dtype) -> tuple[jax.Array, jax.Array]:
    """:func:`lineage_counts` for equal weights 1/n, by one single-operand sort and no scatter.

    With c_L units in lineage L, 1/Σ_L m_L² = n²/Σ_L c_L², and Σ_L c_L² = Σ_i (2 r_i + 1)
    where r_i is the rank of the i-th sorted id within its lineage (Σ_{r<c} (2r + 1) = c²).
    """
    n = lineage.shape[0]
    ids = jnp.sort(lineage)
    start = jnp.concatenate([jnp.ones(1, bool), ids[1:] != ids[:-1]])
    i = jnp.arange(n, dtype=jnp.int32)
    rank = i - jax.lax.cummax(jnp.where(start, i, 0))
    squares = jnp.sum(2 * rank + 1).astype(dtype)
    return jnp.sum(start).astype(jnp.int32), jnp.asarray(n * n, dtype) / squares


def check_step_parameters(dt, noise, alpha=0.0):
    """Raise a one-line ValueError for impossible step parameters (tracers are skipped)."""
    if _checks._is_concrete(dt) and not (np.isfinite(float(dt)) and float(dt) > 0):
        raise ValueError(f"dt must be positive, got {dt}")
    if _checks._is_concrete(noise) and not (np.isfinite(float(noise)) and float(noise) >= 0):
        raise ValueError(f"noise (temperature τ) must be ≥ 0, got {noise}")
    if not callable(alpha):
        _checks.nonnegative("alpha", alpha)


def _shape(leaf) -> list[int]:
    return [int(s) for s in jnp.shape(leaf)]


def check_particles(particles, expected=None) -> None:
    """One-line errors for particles a scheme cannot start from.

    Shapes are checked always (they are static under jit and vmap); finiteness
    only for concrete arrays. ``expected`` is the problem's particle pytree for
    two units (from ``jax.eval_shape``), used to recognise seed-batched input.
    """
    leaves = jax.tree_util.tree_leaves(particles)
    if not leaves:
        raise ValueError("particles is an empty pytree; pass arrays with a leading axis of n units")
    if any(jnp.ndim(leaf) == 0 for leaf in leaves):
        raise ValueError("particles needs a leading axis of n units on every leaf; got a scalar leaf")
    if expected is not None and jax.tree_util.tree_structure(expected) == jax.tree_util.tree_structure(particles):
        for leaf, probe in zip(leaves, jax.tree_util.tree_leaves(expected), strict=True):
            if jnp.ndim(leaf) == jnp.ndim(probe) + 1 and _shape(leaf)[2:] == _shape(probe)[1:]:
                raise ValueError(
                    f"particles have leading axes {_shape(leaf)[:2]}; vmap over seeds "
                    "(jax.vmap(scheme.init)(particles)) instead of passing a batch"
                )
    sizes = {_shape(leaf)[0] for leaf in leaves}
    if len(sizes) > 1:
        raise ValueError(f"particles' leaves have different leading axes {sorted(sizes)}; every leaf needs [n, ...]")
    if sizes == {0}:
        raise ValueError("particles have 0 units; a scheme needs n ≥ 1")
    for leaf in leaves:
        if not isinstance(leaf, jax.core.Tracer) and not np.all(np.isfinite(np.asarray(leaf))):
            raise ValueError("particles contain NaN or inf; start from finite values")


# One-release aliases of the old names.
check_common = check_step_parameters
take = take_units
select = where_units
