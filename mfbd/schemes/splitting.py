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
  gradient="fresh"``; any other combination is first order, and
  ``splitting="strang", integrator="heun"`` with ``gradient="carried"`` is refused
  (it would be first order without a word).
* ``order=1|2`` (the scheme constructors) names the order instead of the
  combination: 1 is the default combination; 2 is Heun's method on the joint
  flow of positions and log-weights with two oracle passes per step
  (:mod:`mfbd.schemes.heun`) for gradient flow and scheme B. Scheme A is weak
  order 1 with every option (its jump probabilities are first order in Δt).

``scheme.order()`` reports the order the step delivers (see :func:`delivered_order`).

For α = 0 every scheme equals gradient flow exactly. ``info.energy`` is E after
the transport, before the (last) reaction. ``info.oracle_passes`` counts the
oracle passes the step made (every pass goes through one :class:`OracleTally`):
Lie 1, Strang 2, plus 1 for ``gradient="fresh"``, 1 for ``integrator="heun"``
(2 with Strang), 1 per Heun reaction of scheme B, 1 per μ_b birth step of scheme
A, and the sub-steps of an adaptive reweighting.
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
    OracleTally,
    Scheme,
    State,
    check_particles,
    effective_sample_size,
    fixed_order,
    fold_in_key,
    lineage_counts,
    lineage_counts_uniform,
    split_key,
    uniform_log_weights,
)
from mfbd.schemes.schedules import RateSchedule
from mfbd.schemes.temperature import noise_scale

__all__ = [
    "GRADIENTS",
    "INTEGRATORS",
    "ORDERS",
    "SPLITTINGS",
    "build_scheme",
    "check_options",
    "check_order",
    "delivered_order",
]

GRADIENTS = ("carried", "fresh")
SPLITTINGS = ("lie", "strang")
INTEGRATORS = ("euler", "heun")
ORDERS = (1, 2)
_DEFAULT_OPTIONS = dict(gradient="carried", splitting="lie", integrator="euler")

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


def check_order(order, options: dict, **excluded) -> None:
    """One-line errors for ``order``: 1 or 2 (or None), not together with explicit step
    options, and order 2 without any of ``excluded`` (name -> value that rules it out)."""
    if order is None:
        return
    if isinstance(order, bool) or order not in ORDERS:
        raise ValueError(f"order must be 1 or 2 (or None to choose gradient/splitting/integrator), got {order!r}")
    given = [f"{k}={v!r}" for k, v in options.items() if v != _DEFAULT_OPTIONS[k]]
    if given:
        raise ValueError(f"order={order} chooses the step itself; drop {', '.join(given)} or drop order")
    if order == 2:
        for name, value in excluded.items():
            zero = isinstance(value, int | float | np.number) and float(value) == 0
            if value is not None and not zero:
                raise ValueError(
                    f"order=2 is the deterministic Heun step and needs {name}=None/0; use order=1 with {name}"
                )


def delivered_order(*, reacts: bool, reaction_order: int, transport: bool, noisy: bool, optimizer,
                    gradient: str, splitting: str, integrator: str) -> int | None:  # fmt: skip
    """The order in Δt of E(T) a combination delivers (weak order for a stochastic step).

    None with an optax optimizer (no discretisation of the flow); 1 under noise,
    with Euler transport, a first-order reaction (scheme A's jumps, scheme B with
    resampling or the frozen-V step), a carried gradient or a Lie splitting of a
    transport and a reaction; 2 otherwise (Heun transport with a Strang splitting,
    a fresh gradient and a second-order reaction, or Heun without a reaction).
    """
    if optimizer is not None:
        return None
    heun = integrator == "heun"
    if noisy or (transport and not heun):
        return 1
    if not reacts:
        return 2 if heun else 1
    if not heun or reaction_order < 2 or gradient != "fresh" or (transport and splitting != "strang"):
        return 1
    return 2


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
    reaction_order: int = 2,
    conserve_mass: bool = True,
    periodic: bool = False,
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
      reaction_order: the order of the reaction sub-step with ``integrator="heun"``
        (2 for the trapezoid reweighting, 1 for random jumps); feeds ``order()``.
      conserve_mass: False when the log-weights are the unnormalised masses of
        μ = Σ_i e^{log w_i} δ_{θ_i} (conic descent); True: μ has weights softmax(log w).
      periodic: wrap the positions into the torus [0, L)^d of ``problem.period``
        after each transport (a problem without a period is refused).
      equal_weights: True when the weights stay 1/n (birth-death): the lineage
        counts need no weights (:func:`~mfbd.schemes.base.lineage_counts_uniform`).
    """
    check_options(optimizer, gradient, splitting, integrator)
    if reaction is not None and splitting == "strang" and integrator == "heun" and gradient == "carried":
        raise ValueError(
            "splitting='strang', integrator='heun' with gradient='carried' is first order (the next step starts "
            "from V of the measure before the last reaction); use gradient='fresh' for order 2, or order=2"
        )
    if periodic and problem.period is None:
        raise ValueError(
            f"periodic=True needs a problem that declares a torus (Problem.period); {problem.name!r} lives on R^d"
        )
    measure = jax.nn.softmax if conserve_mass else jnp.exp
    # Unnormalised masses would fail the Σ w = 1 check of concrete weights (un-jitted steps).
    oracle = problem.evaluate if conserve_mass else getattr(problem.evaluate, "__wrapped__", problem.evaluate)
    heun = integrator == "heun"
    noisy = callable(noise) or not _checks._is_concrete(noise) or float(noise) > 0
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
        ev = oracle(particles, measure(log_w), key if key is not None else jax.random.key(0))
        opt_state = optimizer.init(particles) if optimizer is not None else ()
        zero = jnp.zeros((), jnp.int32)
        lineage = jnp.arange(n, dtype=jnp.int32)
        return State(particles, log_w, ev.potential, ev.grad_potential, ev.energy, zero, opt_state, lineage,
                     jnp.asarray(n, jnp.int32))  # fmt: skip

    def one_pass(key, state: State) -> State:
        ev = oracle(state.particles, measure(state.log_weights), key)
        return state._replace(potential=ev.potential, grad_potential=ev.grad_potential, energy=ev.energy)

    evaluate = OracleTally(one_pass)

    def add(particles, grad, scale):
        return jax.tree_util.tree_map(lambda p, g: p - scale * g, particles, grad)

    def noise_increment(key, particles, step):
        """√(2τ_kΔt)·ξ per leaf, or None without noise."""
        if not noisy:
            return None
        leaves, treedef = jax.tree_util.tree_flatten(particles)
        keys = split_key(key, len(leaves))
        scale = noise_scale(noise, step, dt)
        xi = [
            (scale * jax.random.normal(k, p.shape, p.dtype)).astype(p.dtype) for p, k in zip(leaves, keys, strict=True)
        ]
        return jax.tree_util.tree_unflatten(treedef, xi)

    def move(key, k_data, state: State):
        """θ ← θ - Δt ∇V (or the optimizer's update, or Heun's step) + √(2τΔt) ξ."""
        particles, grad, opt_state = state.particles, state.grad_potential, state.opt_state
        if optimizer is not None:
            updates, opt_state = optimizer.update(grad, opt_state, particles)
            particles = optax.apply_updates(particles, updates)
        else:
            particles = add(particles, grad, dt)
        xi = noise_increment(key, particles, state.step)
        if xi is not None:
            particles = jax.tree_util.tree_map(jnp.add, particles, xi)
        if heun:
            predicted = evaluate(fold_in_key(k_data, 3), state._replace(particles=particles))
            mean_grad = jax.tree_util.tree_map(lambda a, b: (a + b) / 2, grad, predicted.grad_potential)
            particles = add(state.particles, mean_grad, dt)
            if xi is not None:
                particles = jax.tree_util.tree_map(jnp.add, particles, xi)
        if periodic:
            particles = jax.tree_util.tree_map(lambda p: jnp.mod(p, problem.period), particles)
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

    def census(state: State):
        """``(lineages, effective_lineages)`` of ``state`` (:func:`~mfbd.schemes.base.lineage_counts`)."""
        w = jax.nn.softmax(state.log_weights)
        if reaction is None or not copies:
            return jnp.sum(w > 0).astype(jnp.int32), effective_sample_size(w)
        if equal_weights:
            return lineage_counts_uniform(state.lineage, w.dtype)
        return lineage_counts(state.lineage, w)

    def step(key, state: State):
        evaluate.take()  # a fresh tally for this trace
        k_noise, k_data, k_react = split_key(key, 3)
        if splitting == "lie":
            weights = jax.nn.softmax(state.log_weights)
            moved = transported(k_noise, k_data, state)
            new, killed, born, clipped = react(k_react, moved, dt)
        else:
            half = dt / 2 if _checks._is_concrete(dt) else dt * 0.5
            first, killed, born, clipped = react(fold_in_key(k_react, 1), state, half)
            first = evaluate(fold_in_key(k_data, 2), first)
            weights = jax.nn.softmax(first.log_weights)
            moved = transported(k_noise, k_data, first)
            new, killed_2, born_2, clipped_2 = react(k_react, moved, half)
            killed, born, clipped = killed + killed_2, born + born_2, clipped + clipped_2
        if gradient == "fresh":
            new = evaluate(fold_in_key(k_data, 1), new)
        energy = moved.energy
        if reaction is not None:  # a negative or non-finite traced α poisons the state (module schedules)
            energy, new = rate.poison(state.step, energy, new)
        new = new._replace(step=state.step + 1)
        ess = effective_sample_size(jax.nn.softmax(new.log_weights))
        lineages, effective = census(new)
        info = Info(
            time=(new.step * dt).astype(energy.dtype),
            energy=energy,
            mean_potential=jnp.dot(weights, moved.potential),
            killed=jnp.asarray(killed, jnp.int32),
            born=jnp.asarray(born, jnp.int32),
            ess=ess,
            lineages=lineages,
            effective_lineages=effective,
            oracle_passes=jnp.asarray(evaluate.take(), jnp.int32),
            mass=jnp.ones_like(energy) if conserve_mass else jnp.sum(jnp.exp(new.log_weights)),
            clipped=jnp.asarray(clipped, jnp.int32),
        )
        return new, info

    order = delivered_order(
        reacts=reaction is not None, reaction_order=reaction_order, transport=transport, noisy=noisy,
        optimizer=optimizer, gradient=gradient, splitting=splitting, integrator=integrator,
    )  # fmt: skip
    return Scheme(init, step, fixed_order(order), census)
