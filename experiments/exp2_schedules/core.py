"""Running one arm of the experiment-2 schedule study through the library API: the mean-field student–teacher
problem in kernel mode, a scheme built with :func:`mfbd.birth_death`, :func:`mfbd.reweighting` or
:func:`mfbd.gradient_flow`, and every seed at once (``run_chunk(..., seeds=True)`` with the keys of
:func:`mfbd.simulate.seed_keys`, the runner's seeding: the same start per seed for every arm).

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
from mfbd.simulate import initial_record, run_chunk, seed_keys, state_energy

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
    """Every seed of one arm: ``{field: [S, R + 1]}`` for FIELDS (record 0 is the start), ``time`` [R + 1],
    ``wall`` (seconds, compilation included), ``finite`` (False if a seed went non-finite) and the final
    batched ``state``."""
    particle_keys, init_keys, run_keys = seed_keys(seeds)
    observe = state_energy(prob)
    draw = jax.vmap(lambda k: prob.init_particles(k, n))
    t0 = time.perf_counter()
    state = jax.jit(jax.vmap(scheme.init))(draw(particle_keys), init_keys)
    first = jax.vmap(lambda s: initial_record(s, observe))(state)
    traces = [{f: np.asarray(first[f])[:, None] for f in FIELDS}]
    done = 0
    while done < steps:
        length = min(chunk, steps - done)
        state, trace = run_chunk(scheme, length // record_every, record_every, observe, seeds=True)(run_keys, state)
        traces.append({f: np.asarray(trace[f]) for f in FIELDS})
        done += length
        if not np.all(np.isfinite(traces[-1]["state_energy"])):
            break
    out = {f: np.concatenate([t[f] for t in traces], axis=1) for f in FIELDS}
    complete = out["energy"].shape[1] == steps // record_every + 1
    out["finite"] = bool(np.all(np.isfinite(out["state_energy"]))) and complete
    out["wall"] = time.perf_counter() - t0
    out["state"] = state
    return out


def reaction_input(prob, state, dt: float, alpha: float, reps: int) -> dict:
    """The energy change across the reaction step of scheme A from a (GD-converged, batched) ``state``.

    Scheme A (constant α, carried gradient) takes ``reps`` steps from ``state``; each step's E after the
    reaction minus E before it (``Info.energy``, after the transport) is averaged over steps and seeds and
    divided by Δt. GD's own descent rate from the same state is -ΔE/Δt per step, over the same steps.
    """
    keys = seed_keys(range(jax.tree_util.tree_leaves(state.particles)[0].shape[0]))[2]
    with_energy = state_energy(prob)
    out = {"energy_at_state": float(np.mean(np.asarray(state.energy)))}
    for name in ("gd", "A"):
        scheme = scheme_of(prob, name, dt, alpha, ("constant", 0.0), reps, "carried")
        _, trace = run_chunk(scheme, reps, 1, with_energy, seeds=True)(keys, state)
        after, before = np.asarray(trace["state_energy"]), np.asarray(trace["energy"])
        if name == "gd":
            energies = np.concatenate([np.asarray(state.energy)[:, None], after], axis=1)
            out["gd_descent_rate"] = float(-np.mean(np.diff(energies, axis=1)) / dt)
            continue
        per_seed = np.mean(after - before, axis=1) / dt
        out["reaction_input_per_time"] = float(np.mean(per_seed))
        out["reaction_input_se"] = float(np.std(per_seed, ddof=1) / np.sqrt(per_seed.size))
        out["transport_descent_rate_in_A"] = float(-np.mean(before[:, 1:] - after[:, :-1]) / dt)
        out["events_per_step"] = float(np.mean(np.asarray(trace["killed"] + trace["born"])))
        out["energy_after_reps_A"] = float(np.mean(after[:, -1]))
    return out


def speedup(t: np.ndarray, gd: np.ndarray, arm: np.ndarray, at: float) -> tuple[float, bool]:
    """(time GD's seed-mean E needs to reach the mean of ``arm`` [S]) / ``at``, log-linear between records, and
    whether GD never reaches it within its run (then the ratio is the lower bound t_end / at)."""
    target, mean = float(np.mean(arm)), np.mean(gd, axis=0)
    hit = np.flatnonzero(mean <= target)
    if hit.size == 0:
        return float(t[-1] / at), True
    j = int(hit[0])
    if j == 0:
        return float(t[0] / at), False
    a, b = np.log(mean[j - 1]), np.log(mean[j])
    return float((t[j - 1] + (a - np.log(target)) / (a - b) * (t[j] - t[j - 1])) / at), False


__all__ = ["FIELDS", "PROBLEM", "alpha_of", "problem", "reaction_input", "run_arm", "scheme_of", "speedup"]
