"""Adaptive Δt for the deterministic paths (gradient flow, scheme B) with error control: the controller
(shared with :mod:`mfbd.pde.adaptive`) and the particle step; :mod:`mfbd.adaptive` runs and records it.

Each attempt is one FSAL Heun step (:mod:`mfbd.schemes.heun`, two oracle passes):
the Euler predictor y* and the Heun result y' of the same step differ by the
local error of y*; the step keeps y' (local extrapolation). The scaled error is

.. math:: err = \\sqrt{\\max\\big(Σ_i w_i \\,\\mathrm{mean}_j (Δθ_{ij}/s_{ij})^2,\\;
          \\mathrm{mean}_i (nΔw_i/s^w_i)^2\\big)}, \\quad s_{ij} = atol + rtol\\max(|θ_{ij}|, |θ'_{ij}|),
          \\; s^w_i = atol + rtol\\, n \\max(w_i, w'_i):

positions weighted by their mass (a unit of negligible weight does not limit Δt),
weights on the scale n·w (1 for uniform weights). With ``max_transfer`` (the
transfer limit, on by default) a step whose predictor moves more than that mass,
½Σ|w* - w| > max_transfer, also counts as err = (moved/max_transfer)² > 1, so it is
rejected and retried at about Δt·max_transfer/moved.

PI controller (Hairer–Wanner II §IV.2, Söderlind): accept iff err ≤ 1, then
Δt ← Δt·clip(safety·err^{-0.35}·err_prev^{0.2}, factor_min, factor_max); on a
rejection Δt ← Δt·clip(safety·err^{-1/2}, factor_min, 1). Records (:mod:`mfbd.adaptive`) land exactly
on the requested mean-field times (the step before is shortened; the proposal is
kept), so curves of different runs line up. Everything is a pure function of
the :class:`AdaptiveState`: runs jit, vmap over seeds (each seed its own Δt) and
resume bit-identically from a saved state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mfbd import _checks
from mfbd.problems.base import Problem
from mfbd.schemes.base import State
from mfbd.schemes.heun import heun_stages
from mfbd.schemes.splitting import build_scheme

__all__ = ["Adaptive", "AdaptiveState", "adaptive", "check_controller", "controller", "start"]


class AdaptiveState(NamedTuple):
    """The scheme's state plus the controller's: time t, proposed Δt, the last accepted error,
    accepted and rejected attempts (each attempt costs two oracle passes)."""

    state: Any  # a particle State, or the PDE's PDEState
    time: jax.Array
    dt: jax.Array
    err_prev: jax.Array
    accepted: jax.Array
    rejected: jax.Array

    @property
    def particles(self):  # the scheme state's, so snapshots and pictures read an adaptive state as any other
        return self.state.particles

    @property
    def log_weights(self):
        return self.state.log_weights


class Adaptive(NamedTuple):
    """``init(particles, key=None) -> AdaptiveState``; ``advance(key, astate, t_end) -> astate``
    (steps until t = t_end or the step budget is spent)."""

    init: Callable[..., AdaptiveState]
    advance: Callable[[jax.Array, AdaptiveState, jax.Array], AdaptiveState]
    max_steps: int
    summary: Callable[[object], dict] | None = None  # the record's E, V̄, ESS, lineages, mass (None: particles')


def _positive(name, value):
    if _checks._is_concrete(value) and not (np.isfinite(float(value)) and float(value) > 0):
        raise ValueError(f"{name} must be a positive number, got {value}")


def check_controller(rtol, atol, dt0, max_steps, safety, factor_min, factor_max) -> None:
    """The controller's arguments (module docstring), each with a one-line error."""
    for name, value in (("rtol", rtol), ("atol", atol), ("dt0", dt0), ("safety", safety), ("factor_max", factor_max)):
        _positive(name, value)
    if not 0 < factor_min < 1 < factor_max:
        raise ValueError(f"need 0 < factor_min < 1 < factor_max, got {factor_min}, {factor_max}")
    if int(max_steps) != max_steps or max_steps <= 0:
        raise ValueError(f"max_steps must be a positive integer, got {max_steps}")


def start(state, dt0) -> AdaptiveState:
    """The controller's state at t = 0 around a scheme state (first proposal ``dt0``)."""
    dtype = state.energy.dtype
    zero = jnp.zeros((), jnp.int32)
    return AdaptiveState(state, jnp.zeros((), dtype), jnp.asarray(dt0, dtype), jnp.ones((), dtype), zero, zero)


def controller(propose, max_steps, safety, factor_min, factor_max, max_dt=None):
    """``advance(key, astate, t_end)`` of the PI controller (module docstring) around one embedded step
    ``propose(key, state, h) -> (new_state, err)`` (err ≤ 1 accepts; ``max_dt`` caps every Δt)."""

    def attempt(key, a: AdaptiveState, t_end):
        h = jnp.minimum(a.dt, t_end - a.time)
        new, err = propose(jax.random.fold_in(key, a.accepted + a.rejected), a.state, h)
        ok = err <= 1.0
        safe_err = jnp.maximum(err, 1e-10)
        grow = safety * safe_err**-0.35 * a.err_prev**0.2
        shrink = jnp.where(jnp.isfinite(err), safety * safe_err**-0.5, factor_min)
        factor = jnp.where(ok, jnp.clip(grow, factor_min, factor_max), jnp.clip(shrink, factor_min, 1.0))
        clipped = h < a.dt
        new_dt = jnp.where(ok & clipped, jnp.maximum(a.dt, h * factor), h * factor)  # a shortened step keeps dt
        if max_dt is not None:
            new_dt = jnp.minimum(new_dt, max_dt)
        new = new._replace(step=a.state.step + 1)
        state = jax.tree_util.tree_map(lambda x, y: jnp.where(ok, x, y), new, a.state)
        return AdaptiveState(
            state,
            jnp.where(ok, jnp.where(clipped | (a.time + h >= t_end), t_end, a.time + h), a.time),
            new_dt.astype(a.dt.dtype),
            jnp.where(ok, safe_err, a.err_prev).astype(a.err_prev.dtype),
            a.accepted + ok.astype(jnp.int32),
            a.rejected + (~ok).astype(jnp.int32),
        )

    def advance(key, a: AdaptiveState, t_end) -> AdaptiveState:
        t_end = jnp.asarray(t_end, a.time.dtype)

        def going(c):
            return (c.time < t_end) & (c.accepted + c.rejected < max_steps)

        return jax.lax.while_loop(going, lambda c: attempt(key, c, t_end), a)

    return advance


def adaptive(
    problem: Problem,
    alpha=0.0,
    *,
    rtol: float = 1e-4,
    atol: float = 1e-6,
    dt0: float = 1e-2,
    max_steps: int = 100_000,
    max_transfer: float | None = 0.25,
    safety: float = 0.9,
    factor_min: float = 0.2,
    factor_max: float = 5.0,
    transport: bool = True,
) -> Adaptive:
    """Adaptive-Δt gradient flow (α = 0) or scheme B (α > 0); see the module docstring.

    Args:
      problem: a kernel-mode problem (a deterministic oracle).
      alpha: constant reweighting rate α ≥ 0 (a schedule is per step, not per time: refused).
      rtol, atol: relative and absolute tolerances of the local error.
      dt0: the first proposed Δt (the controller corrects it).
      max_steps: the step budget: attempts (accepted + rejected) over the whole run.
      max_transfer: the most mass (total variation) one step's predictor may move, in (0, 1]; None: no limit.
      safety, factor_min, factor_max: the controller's safety factor and bounds on the Δt ratio.
      transport: False freezes positions (pure reweighting).
    """
    if getattr(problem, "mode", "kernel") != "kernel":
        raise ValueError(
            "adaptive dt needs a deterministic oracle (a kernel-mode problem); use a fixed dt in data mode"
        )
    if callable(alpha):
        raise ValueError("adaptive dt needs a constant alpha (a schedule is indexed by steps, not time)")
    _checks.nonnegative("alpha", alpha)
    check_controller(rtol, atol, dt0, max_steps, safety, factor_min, factor_max)
    if max_transfer is not None and not 0 < float(max_transfer) <= 1:
        raise ValueError(f"max_transfer must be in (0, 1] or None, got {max_transfer}")
    reacts = not (_checks._is_concrete(alpha) and float(alpha) == 0)
    base_init = build_scheme(problem, 1.0, None).init

    def init(particles, key=None) -> AdaptiveState:
        return start(base_init(particles, key), dt0)

    def error(state: State, predicted: State, new: State):
        """The scaled error of the Euler predictor (module docstring) and the mass it moves."""
        w0, w1 = jax.nn.softmax(new.log_weights), jax.nn.softmax(predicted.log_weights)
        n = w0.shape[0]

        def mean_square(a, b):
            scale = atol + rtol * jnp.maximum(jnp.abs(a), jnp.abs(b))
            return jnp.mean(((a - b) / scale).reshape(n, -1) ** 2, axis=1)

        leaves = zip(
            jax.tree_util.tree_leaves(new.particles), jax.tree_util.tree_leaves(predicted.particles), strict=True
        )
        per_unit = sum(mean_square(a, b) for a, b in leaves) / len(jax.tree_util.tree_leaves(new.particles))
        err = jnp.dot(w0, per_unit)
        if reacts:
            err = jnp.maximum(err, jnp.mean((n * (w0 - w1) / (atol + rtol * n * jnp.maximum(w0, w1))) ** 2))
        err = jnp.sqrt(err)
        moved = 0.5 * jnp.sum(jnp.abs(w1 - jax.nn.softmax(state.log_weights)))
        if reacts and max_transfer is not None:
            err = jnp.maximum(err, (moved / max_transfer) ** 2)
        return jnp.where(jnp.isfinite(err), err, jnp.inf)

    def propose(key, state: State, h):
        stages = heun_stages(problem, key, state, h, alpha * h if reacts else None, transport)
        return stages.new, error(state, *stages)

    advance = controller(propose, max_steps, safety, factor_min, factor_max)
    return Adaptive(init, advance, int(max_steps))
