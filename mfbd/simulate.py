"""The time-loop driver: ``lax.scan`` over chunks of steps, recording observables.

Per-step keys are ``fold_in(key, state.step)``, so a run is the same whatever
its chunking, and a run resumed from a saved state continues the same stream.

A record is ``{"step": state.step, **info._asdict(), **observe(state)}``: the
fields of :class:`~mfbd.schemes.base.Info` flow into it by name. The event
counts (``killed``, ``born``, ``clipped``) and the cost ``oracle_passes`` are summed
since the previous record (so a cumulative sum of the trace's ``oracle_passes`` is the
cost of the run up to each record); every other
field (lineage counts included) is the last step's value. Seed ensembles run as one
program, ``run_chunk(..., seeds=True)``, from the states and keys of
:func:`init_ensemble` (the runner's seeding: :func:`seed_keys`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp

from mfbd.schemes.base import Info, Scheme, State, effective_sample_size, fold_in_key, lineage_counts

__all__ = [
    "simulate",
    "run_chunk",
    "initial_record",
    "seed_keys",
    "init_ensemble",
    "draw_ensemble",
    "state_energy",
    "dissipation",
    "energy_rate",
]

Observe = Callable[[State], dict]


EVENT_COUNTS = (
    "killed",
    "born",
    "clipped",
    "oracle_passes",
)  # Info fields summed over a record interval; the others sampled


def _summarise(name: str, values: jax.Array) -> jax.Array:
    """One Info field over a record's steps: event counts summed (as int32), other fields the last step's."""
    values = jnp.asarray(values)
    return values.astype(jnp.int32).sum(axis=0) if name in EVENT_COUNTS else values[-1]


def _record(state: State, info: Info, observe: Observe | None) -> dict:
    """The one row builder: the state's step, every Info field, then the observables."""
    row = {"step": state.step, **info._asdict()}
    if observe is not None:
        row.update(observe(state))
    return row


def initial_record(state: State, observe: Observe | None = None) -> dict:
    """The step-0 record of ``state`` (fresh from ``scheme.init``), in the layout of the later records.

    t = 0, E and V̄ = Σ_i w_i V_i of the state, ESS = 1/Σ_i w_i², the lineage
    counts of the state, zero for the event counts, one oracle pass (``init``'s) and
    its total mass Σ_i e^{log w_i}.
    """
    w = jax.nn.softmax(state.log_weights)
    lineages, effective_lineages = lineage_counts(state.lineage, w)
    values = dict.fromkeys(EVENT_COUNTS, jnp.zeros((), jnp.int32))
    values.update(
        time=jnp.zeros_like(state.energy),
        energy=state.energy,
        mean_potential=jnp.dot(w, state.potential),
        ess=effective_sample_size(w),
        lineages=lineages,
        effective_lineages=effective_lineages.astype(state.energy.dtype),
        oracle_passes=jnp.ones((), jnp.int32),
        mass=jnp.sum(jnp.exp(state.log_weights)),
    )
    return _record(state, Info(**values), observe)


@dataclasses.dataclass(frozen=True, eq=False)
class StateEnergy:
    """The observer of :func:`state_energy`; ``conic=True`` reads log-weights as unnormalised masses."""

    problem: object
    name: str = "state_energy"
    conic: bool = False

    def __call__(self, state: State) -> dict:
        if self.conic:  # μ = Σ_i m_i δ_{θ_i}, m_i = e^{log w_i}: the unbalanced measure, Σ m_i ≠ 1
            evaluate = getattr(self.problem.evaluate, "__wrapped__", self.problem.evaluate)  # skip the Σ w = 1 check
            energy = evaluate(state.particles, jnp.exp(state.log_weights), jax.random.key(0)).energy
        else:
            energy = self.problem.energy(state.particles, jax.nn.softmax(state.log_weights))
        return {self.name: energy}


def state_energy(problem, name: str = "state_energy", *, conic: bool = False) -> StateEnergy:
    """An observer ``state -> {name: E(μ)}``: the energy of the state *after* the reaction.

    ``Info.energy`` is E before the reaction (the oracle pass of the step); this
    is E of the particles and weights the step returns: μ = Σ_i softmax(log w)_i δ_{θ_i},
    or for a conic state (:func:`mfbd.conic`, ``conic=True``) μ = Σ_i e^{log w_i} δ_{θ_i}
    with its own total mass.
    """
    return StateEnergy(problem, name, conic)


def dissipation(problem, alpha=0.0) -> Observe:
    """An observer of the two terms of the energy dissipation identity at the state's measure,

    .. math:: dE/dt = -∫|∇V|² dμ - α ∫(V - \\bar V)² dμ ,

    from one oracle pass: ``{"energy_state": E(μ), "dissipation_transport": -Σ_i w_i |∇V_i|²,
    "dissipation_reaction": -α Σ_i w_i (V_i - V̄)²}``. ``alpha`` is a number or a schedule
    ``step -> α``. Compare their sum with :func:`energy_rate` of ``energy_state``; for the
    deterministic schemes they agree to O(Δt), for scheme A the gap is the jump noise.
    """

    def observe(state: State) -> dict:
        w = jax.nn.softmax(state.log_weights)
        ev = problem.evaluate(state.particles, w, jax.random.key(0))
        grad_sq = sum(
            jnp.sum(g.reshape(g.shape[0], -1) ** 2, axis=1) for g in jax.tree_util.tree_leaves(ev.grad_potential)
        )
        a = alpha(state.step) if callable(alpha) else alpha
        v_bar = jnp.dot(w, ev.potential)
        return {
            "energy_state": ev.energy,
            "dissipation_transport": -jnp.dot(w, grad_sq),
            "dissipation_reaction": -a * jnp.dot(w, (ev.potential - v_bar) ** 2),
        }

    return observe


def energy_rate(time, energy):
    """The measured dE/dt at each record: second-order differences of ``energy`` ``[..., R]`` in ``time`` ``[R]``."""
    return jnp.gradient(jnp.asarray(energy), jnp.asarray(time), axis=-1)


def seed_keys(seeds) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(particle_keys, init_keys, run_keys)``, each ``[S]``: seed s uses ``split(key(s), 3)``."""
    keys = jax.vmap(lambda s: jax.random.split(jax.random.key(s), 3))(jnp.asarray(seeds, jnp.uint32))
    return keys[:, 0], keys[:, 1], keys[:, 2]


def init_ensemble(scheme: Scheme, problem, n: int, seeds, dtype=None) -> tuple[State, jax.Array]:
    """``(states, run_keys)`` of a seed ensemble, each with leading axis ``[S]``: seed s draws its n particles
    with ``problem.init_particles(particle_key, n)`` (cast to ``dtype`` if given) and starts from
    ``scheme.init(particles, init_key)``, the keys ``(particle_key, init_key, run_key)`` of :func:`seed_keys`.

    This is the runner's seeding, so seed s starts the same here, in a run and in every arm of a study::

        states, keys = init_ensemble(scheme, problem, 100, range(10))
        final, trace = run_chunk(scheme, 50, 10, seeds=True)(keys, states)
    """
    particles, init_keys, run_keys = draw_ensemble(problem, n, seeds, dtype)
    return _init_fn(scheme)(particles, init_keys), run_keys


def draw_ensemble(problem, n: int, seeds, dtype=None) -> tuple:
    """``(particles, init_keys, run_keys)`` of a seed ensemble, leading axis ``[S]``: the draw of
    :func:`init_ensemble` before ``scheme.init`` (the runner's, also for arms whose scheme is vmapped)."""
    particle_keys, init_keys, run_keys = seed_keys(seeds)
    particles = _draw_fn(problem, int(n), None if dtype is None else jnp.dtype(dtype))(particle_keys)
    return particles, init_keys, run_keys


@functools.lru_cache(maxsize=32)
def _draw_fn(problem, n: int, dtype):
    def draw(key):
        particles = problem.init_particles(key, n)
        return particles if dtype is None else jax.tree_util.tree_map(lambda a: a.astype(dtype), particles)

    return jax.jit(jax.vmap(draw))


@functools.lru_cache(maxsize=64)
def _init_fn(scheme: Scheme):
    return jax.jit(jax.vmap(scheme.init))


@functools.lru_cache(maxsize=64)
def run_chunk(scheme: Scheme, num_records: int, record_every: int, observe: Observe | None = None, seeds: bool = False):
    """A jitted ``(key, state) -> (state, trace)`` running num_records·record_every steps.

    Each record holds the state's step, the fields of the last step's Info (event
    counts summed since the previous record) and ``observe(state)`` if given.
    With ``seeds=True`` the function is ``jit(vmap(...))`` over a leading axis of
    keys and states (one seed per entry; keys e.g. from :func:`seed_keys`).
    """

    census = getattr(scheme, "census", None)

    @jax.jit
    def run(key, state: State):
        def one_step(state, _):
            state, info = scheme.step(fold_in_key(key, state.step), state)
            if census is not None:  # the record's census replaces the last step's: no sort per step
                info = info._replace(lineages=None, effective_lineages=None)
            return state, info

        def one_record(state, _):
            state, infos = jax.lax.scan(one_step, state, None, length=record_every)  # Info of [record_every]
            if census is not None:
                lineages, effective = census(state)
                infos = infos._replace(lineages=lineages[None], effective_lineages=effective[None])
            info = Info(*(_summarise(name, x) for name, x in zip(Info._fields, infos, strict=True)))
            return state, _record(state, info, observe)

        return jax.lax.scan(one_record, state, None, length=num_records)

    return jax.jit(jax.vmap(run)) if seeds else run


def simulate(
    key: jax.Array,
    scheme: Scheme,
    state: State,
    num_steps: int,
    *,
    record_every: int = 1,
    observe: Observe | None = None,
    chunk_size: int | None = None,
    record_initial: bool = False,
) -> tuple[State, dict]:
    """Run ``num_steps`` steps of ``scheme`` from ``state``.

    Args:
      key: the run's key; step k uses ``fold_in(key, k)``.
      scheme: a :class:`~mfbd.Scheme`.
      state: the start, e.g. ``scheme.init(particles)``.
      num_steps: number of steps, a multiple of ``record_every``.
      record_every: steps between records.
      observe: optional ``state -> dict`` of arrays recorded with each row.
      chunk_size: steps per compiled call (default: all at once); the result
        does not depend on it.
      record_initial: also record ``state`` itself first (:func:`initial_record`).

    Returns:
      ``(state, trace)``: the final state and a dict of arrays with leading axis
      ``num_steps // record_every`` (one more with ``record_initial``; keys
      ``step``, the fields of :class:`~mfbd.schemes.base.Info` (``time``,
      ``energy``, ``mean_potential``, ``killed``, ``born``, ``ess``, ...) and
      the observables).

    ``simulate`` vmaps over keys (and states) for seed ensembles::

        jax.vmap(lambda k, s: simulate(k, scheme, s, 1000))(keys, states)
    """
    for name, value in (("num_steps", num_steps), ("record_every", record_every)):
        if int(value) != value or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value}")
    if num_steps % record_every:
        raise ValueError(f"num_steps ({num_steps}) must be a multiple of record_every ({record_every})")
    if chunk_size is not None and (chunk_size <= 0 or chunk_size % record_every):
        raise ValueError(f"chunk_size must be a positive multiple of record_every, got {chunk_size}")
    total = num_steps // record_every
    per_chunk = total if chunk_size is None else chunk_size // record_every
    traces = []
    if record_initial:
        traces.append(jax.tree_util.tree_map(lambda a: a[None], initial_record(state, observe)))
    done = 0
    while done < total:
        records = min(per_chunk, total - done)
        state, trace = run_chunk(scheme, records, record_every, observe)(key, state)
        traces.append(trace)
        done += records
    trace = traces[0] if len(traces) == 1 else jax.tree_util.tree_map(lambda *t: jnp.concatenate(t), *traces)
    return state, trace
