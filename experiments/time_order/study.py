"""The time order of the splitting and integrator options, on experiment 1 at α = 5.

Two measurements of E(T) at T = 0.5 (good start), for each option set
(Lie + Euler, the default; Strang + Euler; Strang + Heun, fresh gradient):

* **self-convergence**: each solver against itself at Δt_ref = Δt_min/8, so
  only the time error is measured: |E_Δt(T) - E_ref(T)|;
* **particles vs PDE** (the issue's reference): scheme B started from the
  cell centres of the PDE grid with weights ρ_c|cell| (a deterministic,
  sampling-free particle set of n = G units) against the PDE at its finest
  Δt: |E^B_Δt(T) - E^PDE_ref(T)|. Its slope flattens where the spatial error
  (finite volumes vs Lagrangian quadrature) dominates the time error.

The fitted slope of log error against log Δt is the order.
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

import jax
import jax.numpy as jnp

import mfbd
import mfbd.pde as pde
from experiments.common import fit_power_law
from mfbd.problems import gaussian_mixture_1d

ALPHA, T = 5.0, 0.5
OPTIONS = {
    "lie-euler": dict(splitting="lie", integrator="euler"),
    "strang-euler": dict(splitting="strang", integrator="euler"),
    "strang-heun": dict(splitting="strang", integrator="heun"),
}
OUT = Path(__file__).resolve().parents[1] / "results" / "time_order"


def grid_for(smoke: bool) -> pde.Grid:
    """The box [-4, 4] × [-5, 5] of the PDE study, coarse for a smoke run."""
    return pde.Grid(("y", "c"), (-4.0, -5.0), (4.0, 5.0), (24, 30) if smoke else (48, 60))


def pde_energy(problem, grid, dt, options) -> float:
    """E(T) of the Eulerian scheme (van Leer limiter, factorised oracle)."""
    scheme = pde.eulerian_scheme(problem, grid, dt, ALPHA, limiter="van_leer", oracle="factorised", **options)
    state = scheme.init(pde.start_density(grid, "good"))
    steps = round(T / dt)
    state, _ = mfbd.simulate(jax.random.key(0), scheme, state, steps, record_every=steps)
    return float(state.energy)


def particle_energy(problem, grid, dt, options) -> float:
    """E(T) of scheme B from the grid's cell centres weighted by the start density."""
    scheme = mfbd.reweighting(problem, dt, ALPHA, max_transfer=None, gradient="fresh", **options)
    centres = grid.centres(jnp.float64)
    weights = (pde.start_density(grid, "good") * grid.cell_area).reshape(-1)
    keep = weights > 0
    centres = {k: v[keep] for k, v in centres.items()}
    log_w = jnp.log(weights[keep] / jnp.sum(weights[keep]))
    state = scheme.init(centres)
    ev = problem.evaluate(centres, jnp.exp(log_w), jax.random.key(0))
    state = state._replace(log_weights=log_w, potential=ev.potential, grad_potential=ev.grad_potential)
    steps = round(T / dt)
    state, _ = mfbd.simulate(jax.random.key(0), scheme, state, steps, record_every=steps)
    return float(state.energy)


def slope(dts, errors) -> float:
    """The order: the exponent p of error ≈ C·Δt^p (:func:`experiments.common.fit_power_law`, least squares in
    log–log)."""
    return fit_power_law(dts, errors).exponent


def study(smoke: bool = False) -> list[dict]:
    """Rows (solver, options, comparison, dt, error) and a slope row per series."""
    problem = gaussian_mixture_1d()
    grid = grid_for(smoke)
    limit = pde.max_dt(problem, grid, oracle="factorised")
    coarsest = T / math.ceil(T / limit)
    dts = [coarsest / 2**k for k in range(4)]
    rows = []
    for name, options in OPTIONS.items():
        fine = dts[-1] / 8
        pde_ref = pde_energy(problem, grid, fine, options)
        b_ref = particle_energy(problem, grid, fine, options)
        pde_e = [pde_energy(problem, grid, dt, options) for dt in dts]
        b_e = [particle_energy(problem, grid, dt, options) for dt in dts]
        series = {
            ("pde", "self"): [abs(e - pde_ref) for e in pde_e],
            ("B", "self"): [abs(e - b_ref) for e in b_e],
            ("B", "vs_pde"): [abs(e - pde_ref) for e in b_e],
        }
        for (solver, comparison), errors in series.items():
            for dt, err in zip(dts, errors, strict=True):
                rows.append(dict(solver=solver, options=name, comparison=comparison, dt=dt, error=err))
            rows.append(dict(solver=solver, options=name, comparison=comparison, dt="slope",
                             error=slope(dts, errors)))  # fmt: skip
            print(f"{solver:4s} {name:13s} {comparison:7s} slope {slope(dts, errors):5.2f}  errors "
                  + " ".join(f"{e:.2e}" for e in errors), flush=True)  # fmt: skip
    return rows


#: The order each option set reports (``order()`` of the PDE scheme and of scheme B with a fresh gradient).
ORDERS = {"lie-euler": 1, "strang-euler": 1, "strang-heun": 2}


def figure(rows, path: Path) -> None:
    """Error against Δt, one panel per comparison, with slope guides (:mod:`experiments.time_order.figures`)."""
    from experiments.time_order.figures import order_figure

    table = [dict(panel=f"{r['solver']} {r['comparison'].replace('_', ' ')}", series=r["options"],
                  order=ORDERS[r["options"]], dt=float(r["dt"]), error=float(r["error"]))
             for r in rows if r["dt"] != "slope"]  # fmt: skip
    order_figure(table, path, f"Experiment 1, α = {ALPHA}, T = {T}: order in time")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m experiments.time_order", description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="coarse grid (24 × 30)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--replot", action="store_true", help="redraw time_order.png from the written time_order.csv")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.replot:
        with open(args.out / "time_order.csv", newline="") as f:
            figure(list(csv.DictReader(f)), args.out / "time_order.png")
        print(f"wrote {args.out / 'time_order.png'}")
        return
    with jax.enable_x64(True):
        rows = study(args.smoke)
    with open(args.out / "time_order.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    figure(rows, args.out / "time_order.png")
    print(f"wrote {args.out / 'time_order.csv'} and time_order.png")
