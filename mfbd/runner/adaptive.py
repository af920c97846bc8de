"""The runner's side of ``dt = "adaptive"`` arms (:mod:`mfbd.config.adaptive`): their programs and records.

An adaptive arm's chunk runs :func:`mfbd.adaptive.run_adaptive` to the mean-field times of its records
(:func:`mfbd.config.adaptive.record_times` of the chunk's first run step), so a resumed run computes
what an uninterrupted one does. metrics.csv has one header: when any arm of a group is adaptive, the fixed
arms' records get the controller's columns too (``dt`` and ``dt_accepted`` their Δt, ``accepted`` their
steps, ``rejected`` 0).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from mfbd import adaptive as _adaptive
from mfbd.config.adaptive import is_adaptive, record_times

__all__ = ["COLUMNS", "initial_fn", "program", "message", "fill"]

COLUMNS = ("dt", "dt_accepted", "accepted", "rejected")


@functools.lru_cache(maxsize=32)
def initial_fn(observe):
    """The t = 0 record of every batch entry of an adaptive arm, ``{column: [B, 1]}``."""
    record = _adaptive.initial_record
    return jax.jit(jax.vmap(lambda state: jax.tree_util.tree_map(lambda a: a[None], record(state, observe))))


def program(scheme, observe, arm, steps: int, start: int, records: int, every: int, dtype):
    """``(params, keys, state) -> (state, trace)``: the chunk of ``records`` records after run step ``start``."""
    times = jnp.asarray(record_times(arm, steps, start, records, every), dtype)
    run = _adaptive.run_adaptive(scheme, observe, seeds=True)
    return lambda params, keys, state: run(keys, state, times)


def message(step: int) -> str:
    return f'by accepted step {step} (dt = "adaptive"; lower rtol, or max_transfer for scheme B)'


def fill(trace: dict, arms, arm, dt) -> None:
    """Give a fixed arm's ``trace`` the controller's columns when any of ``arms`` is adaptive (in place);
    ``dt``: the arm's Δt per batch entry."""
    if is_adaptive(arm) or not any(is_adaptive(other) for other in arms):
        return
    step = np.asarray(trace["step"])
    dt = np.broadcast_to(np.asarray(dt, float).reshape(-1, 1), step.shape)
    trace.update(dt=dt, dt_accepted=dt, accepted=step, rejected=np.zeros_like(step))
