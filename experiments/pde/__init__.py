"""Verify the particle schemes against the mean-field PDE (issue 5), on experiment 1 (good start).

Four studies write CSV tables into the output folder; the figures and REPORT.md are then rendered from
those tables alone (``--report-only`` re-renders them without recomputing):

(a) grid convergence of the Eulerian solver (:mod:`.grid`): E at t = 0.5, 1, 2 on four nested grids (Δt ∝ h
    at a fixed Courant number), for α ∈ {0, 5}, first-order upwind and van Leer; fitted order of the
    successive differences; plus a check of the box size;
(b) particles → PDE (:mod:`.particles`, :mod:`.bias`, :mod:`.checks`): GD, GD+BD (scheme A, default centred
    rates and exp probabilities) and reweighting (scheme B) with n = 50 … 5000, seeds vmapped through
    ``run_chunk``: mean |E_n(t) - E_PDE(t)| and the bias E[E_n(t)] - E_PDE(t) (with a control variate) with
    standard errors and fitted exponents; the L1 distance between the particle histogram and the PDE
    density; the particles' own Δt bias;
(c) the dissipation identity dE/dt = -∫|∇V|²dρ - α∫(V - V̄)²dρ on the PDE solution, against h and Δt (:mod:`.grid`);
(d) the pure birth-death bound E(ρ_t) - E(ν) ≤ KL(ν‖ρ₀)/(αt) with ν the long-time pure-reaction solution
    (:mod:`.reaction_bound`).

``--only STAGE ...`` reruns some stages and re-renders from the CSVs of the others.

Usage (repository root)::

    python -m experiments.pde                      # full study, into experiments/results/pde
    python -m experiments.pde --smoke              # smoke run (SMOKE sizes) into experiments/runs/pde_smoke
    python -m experiments.pde --report-only        # figures and REPORT.md from the CSVs
    python -m experiments.pde --only "bd check"    # one stage, the rest from the CSVs
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax

import mfbd
from experiments.common import read_rows, write_rows
from experiments.pde.base import FULL, SMOKE, TIMES
from experiments.pde.bias import fit_particle_slopes
from experiments.pde.checks import birth_death_bias_check, dt_bias
from experiments.pde.figures import figures
from experiments.pde.grid import box_check, dissipation_dt_sweep, grid_study
from experiments.pde.particles import particle_study
from experiments.pde.reaction_bound import kl_study
from experiments.pde.report import report

RESULTS = Path(__file__).resolve().parents[1] / "results"
RUNS = Path(__file__).resolve().parents[1] / "runs"  # not committed
STAGES = ("grid", "box", "dt sweep", "particles", "particle dt", "bd check", "pure birth-death")


def run_stages(sizes, stages, out: Path, info: dict) -> dict:
    """Run ``stages`` at ``sizes`` into ``out``; ``info`` gains each stage's wall seconds."""
    problem = mfbd.problems.gaussian_mixture_1d()
    seeds_for = dict(zip(sizes.ns, sizes.seeds, strict=True))
    t_end, ref_level = max(TIMES), max(sizes.levels)
    table = {
        "grid": (grid_study, (problem, sizes.levels, sizes.t_grid, out)),
        "box": (box_check, (problem, out)),
        "dt sweep": (dissipation_dt_sweep, (problem, 1, out)),
        "particles": (particle_study, (problem, sizes.ns, seeds_for, t_end, ref_level, out)),
        "particle dt": (dt_bias, (problem, sizes.dt_n, 4, t_end, out)),
        "bd check": (birth_death_bias_check, (problem, sizes.check_n, sizes.check_seeds, t_end, out)),
        "pure birth-death": (kl_study, (problem, 1, sizes.kl_t, out)),
    }
    for name in stages:
        print(f"[{name}]", flush=True)
        start = time.perf_counter()
        fn, fn_args = table[name]
        with jax.enable_x64(True):  # the PDE in float64; the particles cast themselves to float32
            fn(*fn_args)
        info[f"wall {name}"] = time.perf_counter() - start
    return info


def study(sizes, out: Path, stages=STAGES, command: str = "python -m experiments.pde") -> None:
    """Run ``stages`` at ``sizes`` into ``out`` and record ``run_info.csv`` (kept from earlier stages)."""
    out.mkdir(parents=True, exist_ok=True)
    info = {}
    if stages != STAGES and (out / "run_info.csv").exists():
        info = {r["key"]: r["value"] for r in read_rows(out / "run_info.csv")}
    run_stages(sizes, stages, out, info)
    info["wall total"] = sum(float(info.get(f"wall {name}", 0.0)) for name in STAGES)
    info |= dict(command=command)
    info |= dict(levels=" ".join(map(str, sizes.levels)), ns=" ".join(map(str, sizes.ns)))
    info |= dict(seeds=" ".join(map(str, sizes.seeds)))
    write_rows(out / "run_info.csv", [dict(key=k, value=v) for k, v in info.items()])


def render(out: Path) -> None:
    """particle_slopes.csv, the figures and REPORT.md, from the CSVs in ``out``."""
    fit_particle_slopes(out)
    figures(out)
    report(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.pde", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="smoke run (default out: experiments/runs/pde_smoke)")
    parser.add_argument("--report-only", action="store_true", help="re-render figures and REPORT.md from the CSVs")
    parser.add_argument("--only", nargs="+", choices=STAGES, help="run these stages only (the rest from the CSVs)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default experiments/results/pde)")
    args = parser.parse_args(argv)
    out = args.out or (RUNS / "pde_smoke" if args.smoke else RESULTS / "pde")
    if not args.report_only:
        command = "python -m experiments.pde" + (" --smoke" if args.smoke else "")
        study(SMOKE if args.smoke else FULL, out, tuple(args.only or STAGES), command)
    render(out)
    print(f"results in {out}")
    return 0
