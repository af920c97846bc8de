"""(d) The pure birth-death bound E(ρ_t) - E(ν) ≤ KL(ν‖ρ₀)/(αt), ν the long-time pure-reaction solution."""

from __future__ import annotations

import numpy as np

import mfbd.pde as pde
from experiments.common import write_rows
from experiments.pde.base import ALPHA, grid_at, pde_trajectory


def kl_study(problem, level, t_long, out):
    """Pure reaction (no transport) up to t_long; ν = ρ(t_long); E(t) - E(ν) against KL(ν‖ρ₀)/(αt) for t ≤ t_long/2."""
    grid = grid_at(level)
    dt, times, energy, _, state, wall = pde_trajectory(
        problem, grid, ALPHA, None, t_long, record=0.1, transport=False, dt=0.01
    )
    w0 = np.asarray(pde.start_density(grid, "good")) * grid.cell_area
    w0 = w0 / w0.sum()
    w_nu = np.asarray(state.density) * grid.cell_area
    support = w_nu > 0
    kl = float(np.sum(w_nu[support] * np.log(w_nu[support] / w0[support])))
    e_nu = energy[-1]
    mask = (times > 0) & (times <= t_long / 2 + 1e-9)
    rows = [
        dict(t=t, E=e, gap=e - e_nu, bound=kl / (ALPHA * t), ratio=(e - e_nu) * ALPHA * t / kl)
        for t, e in zip(times[mask], energy[mask], strict=True)
    ]
    write_rows(out / "kl_bound.csv", rows)
    ratios = np.array([r["ratio"] for r in rows])
    at = {t: float(energy[np.argmin(np.abs(times - t))]) for t in (t_long / 4, t_long / 2, t_long)}
    summary = dict(
        grid=str(grid.shape),
        dt=dt,
        t_long=t_long,
        E_nu=e_nu,
        KL=kl,
        max_ratio=float(ratios.max()),
        argmax_t=float(rows[int(np.argmax(ratios))]["t"]),
        E_quarter=at[t_long / 4],
        E_half=at[t_long / 2],
        wall_s=wall,
    )
    write_rows(out / "kl_summary.csv", [summary])
