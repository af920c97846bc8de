"""Two independent looks at the particle bias of (b): the particles' own Δt bias, and GD+BD with many seeds."""

from __future__ import annotations

import math

import numpy as np

from experiments.common import read_rows, write_rows
from experiments.pde.base import ALPHA, PARTICLE_DT, RECORD_DT, TIMES
from experiments.pde.bias import initial_bias
from experiments.pde.particles import particle_schemes, run_particles
from mfbd.simulate import state_energy


def dt_bias(problem, n, seeds, t_end, out):
    """GD and reweighting are deterministic given μ₀: E(Δt = 0.01) - E(Δt = 0.005) from the same starts is
    half the Δt-bias of the particle schemes at Δt = 0.01, to first order."""
    observe = state_energy(problem, "E")
    rows = []
    for name in ("GD", "reweighting"):
        values = {}
        for dt in (PARTICLE_DT, PARTICLE_DT / 2):
            scheme = particle_schemes(problem, dt)[name]
            _, _, trace, *_ = run_particles(problem, scheme, n, seeds, 1, round(t_end / dt), observe, seed_offset=9000)
            values[dt] = trace["E"][:, -1]
        diff = values[PARTICLE_DT] - values[PARTICLE_DT / 2]
        rows.append(
            dict(
                scheme=name,
                n=n,
                seeds=seeds,
                t=t_end,
                E_dt_minus_E_half_dt=diff.mean(),
                spread=diff.std(ddof=1),
                estimated_dt_bias=2 * diff.mean(),
            )
        )
    write_rows(out / "dt_bias.csv", rows)


def birth_death_bias_check(problem, n, seeds, t_end, out):
    """GD+BD alone at one n with many fresh seeds: the control-variate bias with β fitted within the sample,
    an independent look at the bias that the sweep over n measures with few seeds at large n."""
    reference = read_rows(out / "pde_reference.csv")
    e_ref = np.array([r["E"] for r in reference if r["alpha"] == ALPHA])
    scheme = particle_schemes(problem, PARTICLE_DT)["GD+BD"]
    num_records, record_every = round(t_end / RECORD_DT), round(RECORD_DT / PARTICLE_DT)
    e0, _, trace, wall, _ = run_particles(
        problem, scheme, n, seeds, num_records, record_every, state_energy(problem, "E"), seed_offset=8000
    )
    x0 = e0 - e_ref[0]
    rows = []
    for t in TIMES:
        k = round(t / RECORD_DT)
        xt = trace["E"][:, k - 1] - e_ref[k]
        beta = float(np.cov(xt, x0)[0, 1] / np.var(x0, ddof=1))
        adjusted = xt - beta * (x0 - initial_bias(n))
        rows.append(
            dict(
                scheme="GD+BD",
                n=n,
                seeds=seeds,
                t=t,
                beta=beta,
                bias_cv=adjusted.mean(),
                se_bias_cv=adjusted.std(ddof=1) / math.sqrt(seeds),
                n_times_bias_cv=n * adjusted.mean(),
                bias=xt.mean(),
                se_bias=xt.std(ddof=1) / math.sqrt(seeds),
                wall_s=wall,
            )
        )
    write_rows(out / "bd_bias_check.csv", rows)
