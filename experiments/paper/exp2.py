"""Experiment 2 (student-teacher ReLU network, d = 50) with the notebooks' settings, 2020 and ICML:
GD vs GD+BD vs GD+BD-μ_b in data mode, on the population energy recorded beside the minibatch one."""

from __future__ import annotations

from experiments.paper.runs import config, figures, labels_of, run, write_summary, write_tables
from experiments.paper.stats import SPEEDUP_COLUMNS, arm_tables
from mfbd.runner import read_metrics

SMOKE = dict(steps=400, n=16, seeds=2)


def exp2_notebook(args) -> dict:
    """Experiment 2 with the notebooks' settings (2020 and ICML), GD vs GD+BD vs GD+BD-μ_b."""
    summary = {}
    for name in ("exp2_2020", "exp2_icml"):
        sets = [] if args.seeds else ["run.seeds=5"]  # the notebooks' 5 seeds unless --seeds
        sets += [f"run.steps={args.steps}"] if args.steps else []
        cfg, sets = config(name, args, sets, **SMOKE)
        run_dir, wall = run(cfg, args.runs / name, " ".join(sets))
        metrics, labels = read_metrics(run_dir), labels_of(cfg)
        steps = cfg.run.steps
        checkpoints = [s for s in (100, 1000, 10000, 30000, 100000) if s <= steps]
        tables = arm_tables(
            metrics,
            labels,
            "population_energy",
            checkpoints,
            (1e-2, 3e-3, 1e-3),
            [s for s in (1000, 10000) if s < steps] or [steps // 2],
        )
        out = args.results / name
        write_tables(out, tables, {"speedup": SPEEDUP_COLUMNS})
        figures(run_dir, cfg, out)
        summary[name] = {"sets": sets, "smoke": args.smoke, "wall_seconds": wall, "steps": steps}
        write_summary(out, summary[name])
    return summary
