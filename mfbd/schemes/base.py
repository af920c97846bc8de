"""What every scheme shares: the state, the per-step info, the transport step.

A scheme is ``Scheme(init, step)``:

* ``init(particles, key=None) -> State`` evaluates the oracle once at μ₀;
* ``step(key, state) -> (state, info)`` advances one time step Δt.

One step is (paper-notes §4, the authors' order)

1. **transport** with the gradient carried in the state,
   θ ← θ - Δt ∇_θ V (or an optax update of ∇V), plus √(2τΔt)·ξ if ``noise`` τ > 0;
2. **one oracle pass** at the moved particles: V, ∇V and E;
3. the scheme's **reaction** (birth-death or reweighting) driven by that V.

The V and ∇V of step 2 are carried to the next step, gathered through the
reaction's index moves, so each step costs one value-and-gradient pass. The
next transport therefore sees ∇V at the right positions but for the measure
before the reaction: an O(α·Δt) lag per step that keeps the splitting first
order, and that vanishes for α = 0 (all schemes then equal gradient flow
exactly). ``info.energy`` is E after the transport, before the reaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mfbd.problems.base import Problem, num_particles

__all__ = ["State", "Info", "Scheme", "build_scheme", "gather_units", "take", "uniform_log_weights"]

Particles = Any


class State(NamedTuple):
    """What the next step needs. Shapes for n particles.

    Attributes:
      particles: pytree, leading axis n on every leaf.
      log_weights: ``[n]`` log w_i, normalised (uniform -log n for unweighted schemes).
      potential: ``[n]`` V(θ_i, μ) from the last oracle pass.
      grad_potential: ∇_θ V(θ_i, μ) from the last pass, same pytree as particles.
      energy: scalar E(μ) from the last pass.
      step: int32 step counter.
      opt_state: per-unit optax state (``()`` without an optimizer).
    """

    particles: Particles
    log_weights: jax.Array
    potential: jax.Array
    grad_potential: Particles
    energy: jax.Array
    step: jax.Array
    opt_state: Any


class Info(NamedTuple):
    """Per-step diagnostics (not carried).

    Attributes:
      time: mean-field time t = (step + 1)·Δt after the step.
      energy: E after the transport, before the reaction.
      mean_potential: V̄ = Σ_i w_i V_i used by the reaction.
      killed: number of kill events (units with V above the reference removed).
      born: number of births (duplications, or newborns from μ_b).
      ess: effective sample size 1/Σ w_i² after the step.
    """

    time: jax.Array
    energy: jax.Array
    mean_potential: jax.Array
    killed: jax.Array
    born: jax.Array
    ess: jax.Array


class Scheme(NamedTuple):
    """A particle scheme as a pair of pure functions (see the module docstring)."""

    init: Callable[..., State]
    step: Callable[[jax.Array, State], tuple[State, Info]]


def uniform_log_weights(n: int, dtype) -> jax.Array:
    """``[n]`` log-weights of the uniform measure, -log n."""
    return jnp.full((n,), -np.log(n), dtype)


def _dtype(particles):
    return jnp.result_type(*jax.tree_util.tree_leaves(particles))


def take(tree, index: jax.Array, n: int):
    """Gather the per-unit leaves of ``tree`` (leading axis n) at ``index``.

    Leaves without a leading axis n (an optimizer's step count, say) are kept.
    """

    def gather(leaf):
        if jnp.ndim(leaf) >= 1 and jnp.shape(leaf)[0] == n:
            return jnp.take(leaf, index, axis=0)
        return leaf

    return jax.tree_util.tree_map(gather, tree)


def gather_units(state: State, index: jax.Array) -> State:
    """The state whose unit i is the old unit ``index[i]``: particles, carried V and ∇V, optimizer state."""
    n = state.potential.shape[0]
    carried = (state.particles, state.potential, state.grad_potential, state.opt_state)
    particles, potential, grad, opt_state = take(carried, index, n)
    return state._replace(particles=particles, potential=potential, grad_potential=grad, opt_state=opt_state)


def select(mask: jax.Array, on_true, on_false, n: int):
    """Per unit, take ``on_true`` where ``mask`` ([n] bool) else ``on_false``."""

    def pick(a, b):
        if jnp.ndim(a) >= 1 and jnp.shape(a)[0] == n:
            return jnp.where(mask.reshape((n,) + (1,) * (jnp.ndim(a) - 1)), a, b)
        return b

    return jax.tree_util.tree_map(pick, on_true, on_false)


def check_common(dt, noise, alpha=0.0):
    """Raise a one-line ValueError for impossible step parameters."""
    if not np.isfinite(dt) or dt <= 0:
        raise ValueError(f"dt must be positive, got {dt}")
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise (temperature τ) must be ≥ 0, got {noise}")
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha must be ≥ 0, got {alpha}")


# A reaction maps (key, state after the oracle pass, weights) to
# (state, killed, born); the state holds V and ∇V at the moved particles.
Reaction = Callable[[jax.Array, State, jax.Array], tuple[State, jax.Array, jax.Array]]


def build_scheme(
    problem: Problem,
    dt: float,
    reaction: Reaction | None,
    *,
    noise: float = 0.0,
    optimizer: optax.GradientTransformation | None = None,
    transport: bool = True,
) -> Scheme:
    """Assemble transport, one oracle pass and a reaction into a :class:`Scheme`.

    Args:
      problem: the energy.
      dt: the time step Δt (mean-field time).
      reaction: the scheme's reaction step, or None for pure transport.
      noise: temperature τ of the Langevin noise √(2τΔt)·ξ (0: the paper's setting).
      optimizer: optional optax transformation applied to ∇V in place of the
        Euler step; its state is per unit and follows the units through births.
      transport: False freezes positions (pure reaction dynamics).
    """

    def init(particles, key=None) -> State:
        n = num_particles(particles)
        log_w = uniform_log_weights(n, _dtype(particles))
        ev = problem.evaluate(particles, jax.nn.softmax(log_w), key if key is not None else jax.random.key(0))
        opt_state = optimizer.init(particles) if optimizer is not None else ()
        return State(particles, log_w, ev.potential, ev.grad_potential, ev.energy, jnp.zeros((), jnp.int32), opt_state)

    def move(key, particles, grad, opt_state):
        """θ ← θ - Δt ∇V (or the optimizer's update) + √(2τΔt) ξ."""
        if optimizer is None:
            particles = jax.tree_util.tree_map(lambda p, g: p - dt * g, particles, grad)
        else:
            updates, opt_state = optimizer.update(grad, opt_state, particles)
            particles = optax.apply_updates(particles, updates)
        if noise > 0:
            leaves, treedef = jax.tree_util.tree_flatten(particles)
            keys = jax.random.split(key, len(leaves))
            scale = float(np.sqrt(2.0 * noise * dt))
            leaves = [p + scale * jax.random.normal(k, p.shape, p.dtype) for p, k in zip(leaves, keys, strict=True)]
            particles = jax.tree_util.tree_unflatten(treedef, leaves)
        return particles, opt_state

    def step(key, state: State):
        k_noise, k_data, k_react = jax.random.split(key, 3)
        particles, opt_state = state.particles, state.opt_state
        if transport:
            particles, opt_state = move(k_noise, particles, state.grad_potential, opt_state)
        weights = jax.nn.softmax(state.log_weights)
        ev = problem.evaluate(particles, weights, k_data)
        moved = state._replace(
            particles=particles,
            potential=ev.potential,
            grad_potential=ev.grad_potential,
            energy=ev.energy,
            opt_state=opt_state,
        )
        zero = jnp.zeros((), jnp.int32)
        new, killed, born = (moved, zero, zero) if reaction is None else reaction(k_react, moved, weights)
        new = new._replace(step=state.step + 1)
        w = jax.nn.softmax(new.log_weights)
        info = Info(
            time=(new.step * dt).astype(ev.energy.dtype),
            energy=ev.energy,
            mean_potential=jnp.dot(weights, ev.potential),
            killed=jnp.asarray(killed, jnp.int32),
            born=jnp.asarray(born, jnp.int32),
            ess=1.0 / jnp.sum(w * w),
        )
        return new, info

    return Scheme(init, step)
