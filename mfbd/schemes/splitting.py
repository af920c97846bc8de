"""One time step of a particle scheme: transport, oracle passes and a reaction.

Options of :func:`build_scheme` (every scheme constructor forwards them):

* ``splitting="lie"`` (default, the authors' order): transport T(Δt), one
  oracle pass at the moved particles, reaction R(Δt) driven by that V.
  ``"strang"``: R(Δt/2), an oracle pass, T(Δt), an oracle pass, R(Δt/2); both
  halves use α_k of the step's schedule.
* ``gradient="carried"`` (default): the V and ∇V of the last pass are carried
  to the next step, gathered through the reaction's index moves, so the next
  transport sees ∇V at the right positions but for the measure before the
  reaction (an O(α·Δt) lag per step; one pass per Lie step). ``"fresh"``: one
  more oracle pass after the reaction, so the state's V, ∇V and E belong to its
  own measure (2 passes per Lie step).
* ``integrator="euler"`` (default): θ ← θ - Δt ∇V (or an optax update), plus
  √(2τΔt)·ξ. ``"heun"``: Heun's method θ* = θ - Δt g₀ + σξ,
  θ ← θ - Δt/2 (g₀ + g(θ*)) + σξ (one more pass), and for scheme B the
  trapezoid rule on the log-weights (see :mod:`mfbd.schemes.reweighting`).
  Order 2 in time needs ``splitting="strang", integrator="heun",
  gradient="fresh"``; any other combination is first order.

For α = 0 every scheme equals gradient flow exactly. ``info.energy`` is E after
the transport, before the (last) reaction.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mfbd import _checks
from mfbd.problems.base import Problem
from mfbd.schemes.base import (
    Info,
    Scheme,
    State,
    check_particles,
    effective_sample_size,
    lineage_counts,
    lineage_counts_uniform,
    uniform_log_weights,
)
from mfbd.schemes.schedules import RateSchedule

__all__ = ["GRADIENTS", "INTEGRATORS", "SPLITTINGS", "build_scheme", "check_options"]

GRADIENTS = ("carried", "fresh")
SPLITTINGS = ("lie", "strang")
INTEGRATORS = ("euler", "heun")

# A reaction maps (key, state, rate, evaluate) to (state, killed, born[, clipped]). The
# state holds V and ∇V at its particles; rate = α_k·h for the sub-step h;
# evaluate(key, state) refreshes V, ∇V and E at the state's particles and weights.
Reaction = Callable[..., tuple[State, jax.Array, jax.Array]]


def check_options(optimizer, gradient: str, splitting: str, integrator: str) -> None:
    """One-line errors for the step options (see the module docstring)."""
    _checks.choice("gradient", gradient, GRADIENTS)
    _checks.choice("splitting", splitting, SPLITTINGS)
    _checks.choice("integrator", integrator, INTEGRATORS)
    if isinstance(optimizer, str):
        raise TypeError(f"optimizer must be an optax transformation, e.g. optax.{optimizer}(lr), not {optimizer!r}")
    if optimizer is not None and not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise TypeError(f"optimizer must be an optax transformation (init, update), got {type(optimizer).__name__}")
    if integrator == "heun" and optimizer is not None:
        raise ValueError(
            "integrator='heun' needs optimizer=None; valid: integrator='euler' with or without an optimizer, "
            "integrator='heun' with forward-Euler transport (optimizer=None)"
        )


def _dtype(particles):
    return jnp.result_type(*jax.tree_util.tree_leaves(particles))


def build_scheme(
    problem: Problem,
    dt: float,
    reaction: Reaction | None,
    *,
    rate: RateSchedule | None = None,
    noise: float = 0.0,
    optimizer: optax.GradientTransformation | None = None,
    transport: bool = True,
    gradient: str = "carried",
    splitting: str = "lie",
    integrator: str = "euler",
    copies: bool = True,
    equal_weights: bool = False,
) -> Scheme:
    """Assemble transport, oracle passes and a reaction into a :class:`Scheme`.

    Args:
      problem: the energy.
      dt: the time step Δt (mean-field time); may be a traced value.
      reaction: the scheme's reaction step, or None for pure transport.
      rate: the rate schedule α_k (required with a reaction).
      noise: temperature τ of the Langevin noise √(2τΔt)·ξ (0: the paper's setting).
      optimizer: optional optax transformation applied to ∇V in place of the
        Euler step; its state is per unit and follows the units through births.
      transport: False freezes positions (pure reaction dynamics).
      gradient, splitting, integrator: see the module docstring.
      copies: False when the reaction never moves units (reweighting without
        resampling): every unit stays its own lineage, so the lineage counts are
        the units with w > 0 and the ESS, without a sort.
      equal_weights: True when the weights stay 1/n (birth-death): the lineage
        counts need no weights (:func:`~mfbd.schemes.base.lineage_counts_uniform`).
    """
    check_options(optimizer, gradient, splitting, integrator)
    heun = integrator == "heun"
    noisy = not _checks._is_concrete(noise) or float(noise) > 0
    expected = []

    def init(particles, key=None) -> State:
        if not expected:
            try:
                expected.append(jax.eval_shape(lambda k: problem.init_particles(k, 2), jax.random.key(0)))
            except Exception:  # a problem whose sampler cannot be traced: skip the batch check
                expected.append(None)
        check_particles(particles, expected[0])
        n = jax.tree_util.tree_leaves(particles)[0].shape[0]
        log_w = uniform_log_weights(n, _dtype(particles))
        ev = problem.evaluate(particles, jax.nn.softmax(log_w), key if key is not None else jax.random.key(0))
        opt_state = optimizer.init(particles) if optimizer is not None else ()
        zero = jnp.zeros((), jnp.int32)
        lineage = jnp.arange(n, dtype=jnp.int32)
        return State(particles, log_w, ev.potential, ev.grad_potential, ev.energy, zero, opt_state, lineage,
                     jnp.asarray(n, jnp.int32))  # fmt: skip

    def evaluate(key, state: State) -> State:
        ev = problem.evaluate(state.particles, jax.nn.softmax(state.log_weights), key)
        return state._replace(potential=ev.potential, grad_potential=ev.grad_potential, energy=ev.energy)

    def add(particles, grad, scale):
        return jax.tree_util.tree_map(lambda p, g: p - scale * g, particles, grad)

    def noise_increment(key, particles):
        """√(2τΔt)·ξ per leaf, or None without noise."""
        if not noisy:
            return None
        leaves, treedef = jax.tree_util.tree_flatten(particles)
        keys = jax.random.split(key, len(leaves))
        if _checks._is_concrete(noise) and _checks._is_concrete(dt):
            scale = float(np.sqrt(2.0 * float(noise) * float(dt)))
        else:
            scale = jnp.sqrt(2.0 * noise * dt)
        xi = [scale * jax.random.normal(k, p.shape, p.dtype) for p, k in zip(leaves, keys, strict=True)]
        return jax.tree_util.tree_unflatten(treedef, xi)

    def move(key, k_data, state: State):
        """θ ← θ - Δt ∇V (or the optimizer's update, or Heun's step) + √(2τΔt) ξ."""
        particles, grad, opt_state = state.particles, state.grad_potential, state.opt_state
        if optimizer is not None:
            updates, opt_state = optimizer.update(grad, opt_state, particles)
            particles = optax.apply_updates(particles, updates)
        else:
            particles = add(particles, grad, dt)
        xi = noise_increment(key, particles)
        if xi is not None:
            particles = jax.tree_util.tree_map(jnp.add, particles, xi)
        if heun:
            predicted = evaluate(jax.random.fold_in(k_data, 3), state._replace(particles=particles))
            mean_grad = jax.tree_util.tree_map(lambda a, b: (a + b) / 2, grad, predicted.grad_potential)
            particles = add(state.particles, mean_grad, dt)
            if xi is not None:
                particles = jax.tree_util.tree_map(jnp.add, particles, xi)
        return particles, opt_state

    def react(key, state: State, h):
        """``(state, killed, born, clipped)`` of the reaction over the sub-step h."""
        zero = jnp.zeros((), jnp.int32)
        if reaction is None:
            return state, zero, zero, zero
        a_h = rate.times(state.step, h)
        if not isinstance(a_h, float):
            a_h = jnp.asarray(a_h).astype(state.potential.dtype)
        new, killed, born, *clipped = reaction(key, state, a_h, evaluate)
        return new, killed, born, clipped[0] if clipped else zero

    def transported(k_noise, k_data, state: State) -> State:
        particles, opt_state = state.particles, state.opt_state
        if transport:
            particles, opt_state = move(k_noise, k_data, state)
        return evaluate(k_data, state._replace(particles=particles, opt_state=opt_state))

    def step(key, state: State):
        k_noise, k_data, k_react = jax.random.split(key, 3)
        if splitting == "lie":
            weights = jax.nn.softmax(state.log_weights)
            moved = transported(k_noise, k_data, state)
            new, killed, born, clipped = react(k_react, moved, dt)
        else:
            half = dt / 2 if _checks._is_concrete(dt) else dt * 0.5
            first, killed, born, clipped = react(jax.random.fold_in(k_react, 1), state, half)
            first = evaluate(jax.random.fold_in(k_data, 2), first)
            weights = jax.nn.softmax(first.log_weights)
            moved = transported(k_noise, k_data, first)
            new, killed_2, born_2, clipped_2 = react(k_react, moved, half)
            killed, born, clipped = killed + killed_2, born + born_2, clipped + clipped_2
        if gradient == "fresh":
            new = evaluate(jax.random.fold_in(k_data, 1), new)
        energy = moved.energy
        valid = rate.valid(state.step) if reaction is not None else None
        if valid is not None:  # a schedule's negative or non-finite α poisons the state (module schedules)
            energy = jnp.where(valid, energy, jnp.nan)
            poisoned = {name: jnp.where(valid, getattr(new, name), jnp.nan) for name in ("log_weights", "energy")}
            new = new._replace(**poisoned)
        new = new._replace(step=state.step + 1)
        w = jax.nn.softmax(new.log_weights)
        ess = effective_sample_size(w)
        if reaction is None or not copies:
            lineages, effective = jnp.sum(w > 0).astype(jnp.int32), ess
        elif equal_weights:
            lineages, effective = lineage_counts_uniform(new.lineage, ess.dtype)
        else:
            lineages, effective = lineage_counts(new.lineage, w)
        info = Info(
            time=(new.step * dt).astype(energy.dtype),
            energy=energy,
            mean_potential=jnp.dot(weights, moved.potential),
            killed=jnp.asarray(killed, jnp.int32),
            born=jnp.asarray(born, jnp.int32),
            ess=ess,
            lineages=lineages,
            effective_lineages=effective,
            clipped=jnp.asarray(clipped, jnp.int32),
        )
        return new, info

    return Scheme(init, step)
