"""Running bundled configs through the runner, and what every study reads back: tables, figures, summary."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import jax
import numpy as np

from experiments.common import save_figure, smoke_config, write_rows
from mfbd import runner
from mfbd.config import load, make_problem
from mfbd.plotting import energy_figure, particles_figure
from mfbd.runner import read_metrics, read_snapshots


def seed_sets(args) -> list[str]:
    """The ``--seeds`` override (none under ``--smoke``, which sets its own seeds)."""
    return [f"run.seeds={args.seeds}"] if args.seeds and not args.smoke else []


def config(name: str, args, sets=(), **smoke_sizes):
    """The bundled config ``name`` with ``sets`` and ``--seeds``, shrunk to ``smoke_sizes`` under ``--smoke``
    (the smoke switch, :func:`experiments.common.smoke_config`). Returns (config, the overrides applied)."""
    sets = [*sets, *seed_sets(args)]
    return smoke_config(load(name, sets), args.smoke, **smoke_sizes), sets


def run(cfg, out: Path, note: str = "") -> tuple[Path, float]:
    """Run ``cfg`` into a fresh ``out``; returns (run_dir, wall seconds). A diverged arm is kept, reported."""
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    code = runner.run(cfg, str(out)).code
    wall = time.perf_counter() - t0
    if code == 1:
        print(f"  {cfg.name}: an arm stopped on a non-finite value (kept as diverged)", flush=True)
    elif code != 0:
        raise SystemExit(f"experiments: {cfg.name} ended with exit code {code}; see {out}")
    print(f"  {cfg.name} {note}: {wall:.1f} s", flush=True)
    return out, wall


def labels_of(cfg) -> dict:
    return {name: cfg.label(name) for name, _ in cfg.arms}


def write_tables(folder: Path, tables: dict, columns: dict | None = None):
    """One CSV per ``{name: dict rows}``, floats to 4 significant digits; ``columns`` names the header of a
    table that may have no rows."""
    for name, rows in tables.items():
        write_rows(folder / f"{name}.csv", rows, (columns or {}).get(name), float_format="{:.4g}")


def figures(run_dir: Path, cfg, folder: Path, prefix: str = ""):
    """The runner's energy and particle figures, as PNG into ``folder``."""
    metrics = read_metrics(run_dir)
    save_figure(energy_figure(cfg, metrics), folder / f"{prefix}energy.png")
    x64 = cfg.run.dtype == "float64"
    with jax.enable_x64(x64):
        problem = make_problem(cfg.problem, cfg.run.n, x64)
        snapshots = {name: read_snapshots(run_dir, name) for name, _ in cfg.arms}
        save_figure(particles_figure(cfg, problem, snapshots), folder / f"{prefix}particles.png")


def write_summary(folder: Path, summary: dict):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")


def mass_right(run_dir: Path, arm: str) -> np.ndarray:
    """Per seed, the weight of the particles with y > 1 at the last snapshot (the right-hand bump)."""
    last = read_snapshots(run_dir, arm)[-1]
    w = np.exp(last["log_weights"] - np.logaddexp.reduce(last["log_weights"], axis=1, keepdims=True))
    return np.sum(w * (last["particles"]["y"] > 1.0), axis=1)
