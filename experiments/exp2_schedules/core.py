"""Running one arm of the experiment-2 schedule study through the library API: the mean-field student–teacher
problem in kernel mode, a scheme built with :func:`mfbd.birth_death`, :func:`mfbd.reweighting` or
:func:`mfbd.gradient_flow`, and every seed at once (:func:`experiments.common.ensemble`, the runner's seeding:
the same start per seed for every arm).

A schedule is named by ``(kind, fraction)``: ``("constant", 0)`` α_k = α; ``("quench", q)`` α_k = α for
k < (1 - q)·K, 0 after (the last q of the run); ``("cosine", 0)`` α_k = α·½(1 + cos(πk/K)), optax's cosine
decay to 0 over the K steps of the run.
"""

from __future__ import annotations

import time

import jax
import numpy as np
import optax

import mfbd
from experiments.common import ensemble
from experiments.common import speedup as common_speedup
from mfbd.simulate import run_chunk, seed_keys, state_energy

# experiment 2 in mean-field form, as mfbd/configs/exp2_meanfield_sweep.toml
PROBLEM = dict(dim=50, teacher_width=10, inputs="sphere", mode="kernel", scaling="mean_field")
FIELDS = ("energy", "state_energy", "lineages", "effective_lineages", "killed", "born", "ess")


def problem():
    """The student–teacher problem of the mean-field experiment 2 (teacher seed 0), built in float64."""
    return mfbd.problems.student_teacher(jax.random.key(0), **PROBLEM)


def alpha_of(alpha: float, schedule: tuple[str, float], steps: int):
    """α (a number) or the schedule ``step -> α`` named by ``schedule`` (module docstring), and quench_after."""
    kind, fraction = schedule
    if kind == "constant":
        return alpha, None
    if kind == "quench":
        return alpha, int(round((1 - fraction) * steps))
    if kind == "cosine":
        return optax.cosine_decay_schedule(alpha, steps), None
    raise ValueError(f"unknown schedule {kind!r}; choose constant, quench or cosine")


def scheme_of(prob, scheme: str, dt: float, alpha: float, schedule, steps: int, gradient: str) -> mfbd.Scheme:
    """``scheme`` in {"gd", "A", "B"} at rate ``alpha`` with ``schedule`` and ``gradient`` (carried / fresh)."""
    if scheme == "gd":
        return mfbd.gradient_flow(prob, dt)
    rate, quench_after = alpha_of(alpha, schedule, steps)
    if scheme == "A":
        if quench_after is not None:
            return mfbd.birth_death(prob, dt, rate, quench_after=quench_after, gradient=gradient)
        return mfbd.birth_death(prob, dt, rate, gradient=gradient)
    if quench_after is not None:  # reweighting has no quench_after: the same step function as a schedule
        rate = optax.piecewise_constant_schedule(alpha, {quench_after: 0.0})
    return mfbd.reweighting(prob, dt, rate, gradient=gradient)


def run_arm(prob, scheme: mfbd.Scheme, n: int, seeds, steps: int, record_every: int, chunk: int) -> dict:
    """Every seed of one arm (:func:`experiments.common.ensemble`): ``{field: [S, R + 1]}`` for FIELDS (record 0
    is the start), ``wall`` (seconds, compilation included), ``finite`` (False if a seed went non-finite) and
    the final batched ``state``."""
    t0 = time.perf_counter()
    state, trace = ensemble(scheme, prob, n, seeds, steps, record_every, observe=state_energy(prob), chunk=chunk,
                            stop=lambda t: not np.all(np.isfinite(t["state_energy"])))  # fmt: skip
    out = {f: trace[f] for f in FIELDS}
    complete = out["energy"].shape[1] == steps // record_every + 1
    out["finite"] = bool(np.all(np.isfinite(out["state_energy"]))) and complete
    out["wall"] = time.perf_counter() - t0
    out["state"] = state
    return out


def reaction_input(prob, state, dt: float, alpha: float, reps: int, draws: int = 64) -> dict:
    """The energy the reaction of scheme A puts in at a (GD-converged, batched over seeds) ``state``.

    * one step of A from ``state`` with ``draws`` independent keys per seed: E after the reaction minus E
      before it (``Info.energy``, after the transport), averaged, divided by Δt (``reaction_input_per_time``,
      with its standard error over the seeds × draws, and per seed); GD's own descent rate there, -ΔE/Δt of one GD step;
    * ``reps`` steps of A (carried and fresh gradient) continued from ``state``: the seed-mean E at the end,
      and the mean reaction and transport contributions per unit time along the way.
    """
    energy = state_energy(prob)
    bd = scheme_of(prob, "A", dt, alpha, ("constant", 0.0), reps, "carried")
    keys = jax.random.split(jax.random.key(12345), draws)
    one = jax.jit(jax.vmap(jax.vmap(lambda k, s: bd.step(k, s), (0, None)), (None, 0)))
    new, info = one(keys, state)
    jump = np.asarray(jax.vmap(jax.vmap(energy))(new)["state_energy"] - info.energy) / dt  # [S, draws]
    gd = scheme_of(prob, "gd", dt, alpha, ("constant", 0.0), reps, "carried")
    moved, _ = jax.jit(jax.vmap(gd.step, (None, 0)))(keys[0], state)
    out = {"energy_at_state": float(np.mean(np.asarray(state.energy))),
           "reaction_input_per_time": float(np.mean(jump)), "reaction_input_se": float(np.std(jump) / jump.size**0.5),
           "reaction_input_per_seed": [float(x) for x in np.mean(jump, axis=1)],
           "gd_descent_rate": float(np.mean(np.asarray(state.energy - moved.energy)) / dt),
           "events_per_step": float(np.mean(np.asarray(info.killed + info.born)))}  # fmt: skip
    run_keys = seed_keys(range(jump.shape[0]))[2]
    for gradient in ("carried", "fresh"):
        scheme = scheme_of(prob, "A", dt, alpha, ("constant", 0.0), reps, gradient)
        _, trace = run_chunk(scheme, reps, 1, energy, seeds=True)(run_keys, state)
        after, before = np.asarray(trace["state_energy"]), np.asarray(trace["energy"])
        out[f"continued_{gradient}_energy_end"] = float(np.mean(after[:, -1]))
        out[f"continued_{gradient}_reaction_per_time"] = float(np.mean(after - before) / dt)
        out[f"continued_{gradient}_transport_per_time"] = float(np.mean(before[:, 1:] - after[:, :-1]) / dt)
    return out


def speedup(t: np.ndarray, gd: np.ndarray, arm: np.ndarray, at: float) -> tuple[float, bool]:
    """(time GD's seed-mean E needs to reach the mean of ``arm`` [S]) / ``at`` (:func:`experiments.common.speedup`)."""
    return common_speedup(t, gd, float(np.mean(arm)), at)


__all__ = ["FIELDS", "PROBLEM", "alpha_of", "problem", "reaction_input", "run_arm", "scheme_of", "speedup"]
