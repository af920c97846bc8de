"""The particle bias: its exact value at t = 0, the control-variate estimate, and the n-exponents."""

from __future__ import annotations

import math

import numpy as np

from experiments.common import fit_power_law, read_rows, write_rows
from experiments.pde.base import SCHEMES, TIMES


def initial_bias(n):
    """E[E(μ_n(0))] - E(ρ₀) = (∫K(θ,θ)dρ₀ - ∫∫K dρ₀dρ₀)/(2n) for n iid units of the good start: here
    K(θ,θ) = c²g₁(0) and E[c] = 0, so it is E[c²]g₁(0)/(2n) = 1/(2n√(2π))."""
    return 0.5 / (n * math.sqrt(2 * math.pi))


def control_variate_bias(rows, raw):
    """Add ``bias_cv`` ± ``se_bias_cv`` to ``rows`` (one per n, same scheme and t).

    X_t = E_n(t) - E_PDE(t) and X_0 = E_n(0) - E_PDE(0) share most of their seed-to-seed fluctuation (the
    initial sample), and E[X_0] = initial_bias(n) is known exactly. mean(X_t) - β(mean(X_0) - E[X_0]) is
    unbiased for a fixed β with the variance of X_t - βX_0. β is the least-squares coefficient of √n·X_t on
    √n·X_0 (centred per n), pooled over n: the linear response to the initial fluctuation, n-independent to
    leading order.
    """
    zt = np.concatenate([math.sqrt(r["n"]) * (xt - xt.mean()) for r, (xt, _) in zip(rows, raw, strict=True)])
    z0 = np.concatenate([math.sqrt(r["n"]) * (x0 - x0.mean()) for r, (_, x0) in zip(rows, raw, strict=True)])
    beta = float(np.sum(zt * z0) / np.sum(z0 * z0))
    for r, (xt, x0) in zip(rows, raw, strict=True):
        adjusted = xt - beta * (x0 - initial_bias(r["n"]))
        r.update(beta=beta, bias_cv=adjusted.mean(), se_bias_cv=adjusted.std(ddof=1) / math.sqrt(len(xt)))


def fit_particle_slopes(out):
    """particle_slopes.csv from particle_errors.csv: the n-exponents of the mean absolute gap and of the bias.

    The gap: a power law without offset (log-log, weighted). The bias: bias_cv ≈ C·n^p + D with the
    profile interval of p over [-2.5, -0.1] (D absorbs n-independent errors: the particles' Δt bias, the
    reference's grid error).
    """
    rows = read_rows(out / "particle_errors.csv")
    slope_rows = []
    for name in SCHEMES:
        for t in TIMES:
            sel = [r for r in rows if r["scheme"] == name and r["t"] == t]
            n = np.array([r["n"] for r in sel], float)
            gap = fit_power_law(n, [r["mean_abs_error"] for r in sel], [r["se_abs_error"] for r in sel])
            bias = fit_power_law(n, [r["bias_cv"] for r in sel], [r["se_bias_cv"] for r in sel], offset=True)
            slope_rows.append(
                dict(
                    scheme=name,
                    t=t,
                    abs_gap_slope=gap.exponent,
                    abs_gap_slope_se=gap.exponent_se,
                    abs_gap_chi2_dof=gap.chi2_dof,
                    beta=sel[0]["beta"],
                    bias_exponent=bias.exponent,
                    bias_exponent_lo=bias.lo,
                    bias_exponent_hi=bias.hi,
                    bias_prefactor=bias.prefactor,
                    bias_offset=bias.offset,
                    bias_offset_se=bias.offset_se,
                    bias_chi2_dof=bias.chi2_dof,
                )
            )
    write_rows(out / "particle_slopes.csv", slope_rows)
