"""Every deterministic step combination against an exact solution: the WFR flow of the potential energy,
∂_t μ = ∇·(μ∇U) - α(U - Ū)μ with U = θ²/(2s) (:func:`mfbd.problems.gaussian_laws.wfr_potential_law`),
from N(m₀, C₀) sampled by 64 Gauss–Hermite nodes with their weights (the weighted nodes follow the law to
rounding: ``tests/schemes/test_wfr_order.py``). The error is |E_Δt(T) - E(T)|.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import mfbd
from mfbd.problems.gaussian_laws import wfr_potential_law

__all__ = ["COMBINATIONS", "PROBLEM", "S", "ALPHA", "T", "M0", "C0", "THETA0", "W0", "exact_energy", "make"]
__all__ += ["final_energies", "rows"]

S, ALPHA, T, M0, C0 = 1.0, 2.0, 0.5, 0.5, 1.0
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(64)
THETA0, W0 = M0 + np.sqrt(C0) * _NODES, _WEIGHTS / _WEIGHTS.sum()
PROBLEM = mfbd.problems.non_interacting(lambda t: t * t / (2 * S), lambda k, n: jax.random.normal(k, (n,)))
#: name -> (α, options): α = 0 is gradient flow, else scheme B.
COMBINATIONS = {
    "GD euler": (0.0, {}),
    "GD order=2": (0.0, dict(order=2)),
    "B lie euler": (ALPHA, {}),
    "B strang euler": (ALPHA, dict(splitting="strang")),
    "B lie heun fresh": (ALPHA, dict(integrator="heun", gradient="fresh")),
    "B strang heun fresh": (ALPHA, dict(splitting="strang", integrator="heun", gradient="fresh")),
    "B order=2": (ALPHA, dict(order=2)),
}


def exact_energy(alpha: float) -> float:
    """E(μ_T) = (m_T² + C_T)/(2s) of the exact law."""
    m, C = wfr_potential_law(T, M0, C0, S, alpha)
    return float((m * m + C) / (2 * S))


def make(alpha, options, dt):
    return mfbd.gradient_flow(PROBLEM, dt, **options) if alpha == 0 else mfbd.reweighting(PROBLEM, dt, alpha, **options)


def final_energies(alpha, options, steps) -> np.ndarray:
    """E(T) of the weighted nodes at each Δt = T/k, k in ``steps`` (compiled once: Δt and k traced)."""

    @jax.jit
    def run(dt, k):
        scheme = make(alpha, options, dt)
        state = scheme.init(jnp.asarray(THETA0))
        state = state._replace(log_weights=jnp.log(jnp.asarray(W0)), energy=jnp.dot(W0, THETA0**2 / (2 * S)))
        step = lambda i, s: scheme.step(jax.random.fold_in(jax.random.key(0), i), s)[0]  # noqa: E731
        return jax.lax.fori_loop(0, k, step, state).energy

    return np.array([float(run(T / k, k)) for k in steps])


def rows(steps=(32, 64, 128)) -> list[dict]:
    """Order-table rows (:mod:`experiments.time_order.figures`) of every combination against the exact law."""
    out = []
    for name, (alpha, options) in COMBINATIONS.items():
        errors = np.abs(final_energies(alpha, options, steps) - exact_energy(alpha))
        order = make(alpha, options, 0.1).order()
        out += [dict(panel="exact WFR law, U = θ²/2", series=name, order=order, dt=T / k, error=float(e))
                for k, e in zip(steps, errors, strict=True)]  # fmt: skip
    return out
