"""(a) Grid convergence of the Eulerian solver, the box check, and (c) the dissipation identity on the PDE."""

from __future__ import annotations

import math

import numpy as np

import mfbd.pde as pde
from experiments.common import fit_power_law, write_rows
from experiments.pde.base import ALPHA, LOWER, RECORD_DT, UPPER, grid_at, limiter_name, pde_trajectory


def dissipation_error(problem, grid, alpha, limiter, t_end, checks, cfl=0.5):
    """E(t) every step and the relative error of dE/dt = -∫|∇V|²dρ - α∫(V - V̄)²dρ at the times ``checks``."""

    def rates(state):
        transport, reaction = pde.dissipation_rates(state, grid)
        return {"rate": -transport - alpha * reaction}

    dt, times, energy, trace, _, wall = pde_trajectory(
        problem, grid, alpha, limiter, t_end + RECORD_DT, cfl=cfl, observe=rates
    )
    rate = np.concatenate([[np.nan], trace["rate"]])
    rows = []
    for t in checks:
        k = round(t / dt)
        de_dt = (energy[k + 1] - energy[k - 1]) / (2 * dt)  # centred difference at t = k·Δt
        rows.append(dict(t=t, dE_dt=de_dt, rate=rate[k], rel_error=abs(de_dt - rate[k]) / abs(rate[k])))
    return dt, times, energy, rows, wall


def order_row(alpha, limiter, t, e, h):
    """The fitted order of the successive differences |E_h - E_h/2| against h, and the finest grid's error."""
    diffs = np.abs(np.diff(e))
    if len(diffs) >= 2:
        fit = fit_power_law(h[:-1], diffs)
        p, p_se = fit.exponent, fit.exponent_se
    else:
        p, p_se = math.nan, math.nan
    order = p if np.isfinite(p) and p > 0.3 else 1.0
    return dict(
        alpha=alpha,
        limiter=limiter_name(limiter),
        t=t,
        E_finest=e[-1],
        successive_differences=" ".join(f"{d:.2e}" for d in diffs),
        pairwise_orders=" ".join(f"{q:.2f}" for q in np.log2(diffs[:-1] / diffs[1:])),
        fitted_order=p,
        order_se=p_se,
        error_finest=diffs[-1] / (2**order - 1),
    )


def grid_study(problem, levels, t_end, out):
    """E at t = 0.5, 1, 2 on nested grids (Δt ∝ h) for α ∈ {0, 5}, upwind and van Leer; the identity at each."""
    rows, diss_rows, order_rows = [], [], []
    times = [t for t in (0.5, 1.0, 2.0) if t <= t_end + 1e-9]
    for alpha in (0.0, ALPHA):
        for limiter in (None, "van_leer"):
            energies = {}
            for level in levels:
                grid = grid_at(level)
                dt, t_all, energy, checks, wall = dissipation_error(
                    problem, grid, alpha, limiter, t_end, (0.25, 0.5, 1.0)
                )
                common = dict(alpha=alpha, limiter=limiter_name(limiter), ny=grid.shape[0], nc=grid.shape[1])
                for t in times:
                    energies[level, t] = energy[round(t / dt)]
                    rows.append(dict(**common, h=grid.spacing[0], dt=dt, t=t, energy=energies[level, t], wall_s=wall))
                diss_rows += [dict(**common, h=grid.spacing[0], dt=dt, **r) for r in checks]
                print(
                    f"  grid α={alpha:g} {limiter_name(limiter)} {grid.shape} dt={dt:.5f} wall={wall:.1f}s", flush=True
                )
            h = np.array([grid_at(level).spacing[0] for level in levels])
            for t in times:
                e = np.array([energies[level, t] for level in levels])
                order_rows.append(order_row(alpha, limiter, t, e, h))
    write_rows(out / "grid_convergence.csv", rows)
    write_rows(out / "grid_orders.csv", order_rows)
    write_rows(out / "dissipation.csv", diss_rows)


def dissipation_dt_sweep(problem, level, out):
    """The dissipation identity on a fixed grid with Δt halved twice (Courant number 0.5, 0.25, 0.125)."""
    grid = grid_at(level)
    rows = []
    for limiter in (None, "van_leer"):
        for cfl in (0.5, 0.25, 0.125):
            dt, _, _, checks, _ = dissipation_error(problem, grid, ALPHA, limiter, 0.5, (0.5,), cfl=cfl)
            common = dict(alpha=ALPHA, limiter=limiter_name(limiter), ny=grid.shape[0], nc=grid.shape[1])
            rows.append(dict(**common, cfl=cfl, dt=dt, **checks[0]))
    write_rows(out / "dissipation_dt.csv", rows)


def box_check(problem, out):
    """The same h = 0.1 grid on the study's box and on [-5, 5] × [-6, 6]: E(t = 2) and the mass in edge cells."""
    rows = []
    for lower, upper, shape in ((LOWER, UPPER, (80, 100)), ((-5.0, -6.0), (5.0, 6.0), (100, 120))):
        grid = pde.Grid(("y", "c"), lower, upper, shape)
        *_, energy, _, state, _ = pde_trajectory(problem, grid, ALPHA, "van_leer", 2.0, record=0.5)
        w = np.asarray(state.density) * grid.cell_area
        box = f"[{lower[0]:g},{upper[0]:g}]x[{lower[1]:g},{upper[1]:g}]"
        rows.append(dict(box=box, shape=str(grid.shape), E_t2=energy[-1], edge_mass_t2=w.sum() - w[1:-1, 1:-1].sum()))
    write_rows(out / "box_check.csv", rows)
