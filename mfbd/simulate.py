"""The time-loop driver: ``lax.scan`` over chunks of steps, recording observables.

Per-step keys are ``fold_in(key, state.step)``, so a run is the same whatever
its chunking, and a run resumed from a saved state continues the same stream.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp

from mfbd.schemes.base import Info, Scheme, State

__all__ = ["simulate", "run_chunk"]


@functools.lru_cache(maxsize=64)
def run_chunk(scheme: Scheme, num_records: int, record_every: int, observe: Callable | None = None):
    """A jitted ``(key, state) -> (state, trace)`` running num_records·record_every steps.

    Each record holds the state's step, the last step's time, energy, V̄ and ESS,
    the kill and birth counts summed since the previous record, and
    ``observe(state)`` if given.
    """

    @jax.jit
    def run(key, state: State):
        def one_step(carry, _):
            state, _, killed, born = carry
            state, info = scheme.step(jax.random.fold_in(key, state.step), state)
            return (state, info, killed + info.killed.astype(jnp.int32), born + info.born.astype(jnp.int32)), None

        def one_record(state, _):
            zero = jnp.zeros((), jnp.int32)
            (state, last, killed, born), _ = jax.lax.scan(
                one_step, (state, blank, zero, zero), None, length=record_every
            )
            row = {
                "step": state.step,
                "time": last.time,
                "energy": last.energy,
                "mean_potential": last.mean_potential,
                "killed": killed,
                "born": born,
                "ess": last.ess,
            }
            if observe is not None:
                row.update(observe(state))
            return state, row

        real = jnp.zeros((), state.energy.dtype)
        count = jnp.zeros((), jnp.int32)
        blank = Info(*(count if name in ("killed", "born", "lineages") else real for name in Info._fields))
        return jax.lax.scan(one_record, state, None, length=num_records)

    return run


def simulate(
    key: jax.Array,
    scheme: Scheme,
    state: State,
    num_steps: int,
    *,
    record_every: int = 1,
    observe: Callable[[State], dict] | None = None,
    chunk_size: int | None = None,
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

    Returns:
      ``(state, trace)``: the final state and a dict of arrays with leading axis
      ``num_steps // record_every`` (keys ``step``, ``time``, ``energy``,
      ``mean_potential``, ``killed``, ``born``, ``ess`` and the observables).

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
    done = 0
    while done < total:
        records = min(per_chunk, total - done)
        state, trace = run_chunk(scheme, records, record_every, observe)(key, state)
        traces.append(trace)
        done += records
    trace = traces[0] if len(traces) == 1 else jax.tree_util.tree_map(lambda *t: jnp.concatenate(t), *traces)
    return state, trace
