"""Reproduce the paper's experiments over seeds and compare with its claims.

Each study runs bundled configs through the runner (raw run directories
under ``experiments/runs/``, not committed) and writes compact results (CSV
tables, PNG figures, a ``summary.json``) under ``experiments/results/<name>/``:

    python -m experiments.paper exp1-good        # experiment 1, good start, 5 arms × 20 seeds
    python -m experiments.paper exp1-bad         # experiment 1, bad start, 10 000 steps
    python -m experiments.paper exp2-notebook    # experiment 2, 2020 and ICML notebook settings
    python -m experiments.paper exp2-meanfield   # experiment 2, mean-field kernel mode, sweeps of α and n
    python -m experiments.paper finite-n         # experiment 1, energy gap against n (1/n law)

``--smoke`` runs a tiny version of any of them (``mfbd.config.shrink``; used by the tests). One study per
file: :mod:`.exp1`, :mod:`.exp2`, :mod:`.sweep` (exp2-meanfield), :mod:`.finite_n`; the statistics in
:mod:`.stats`, running and writing in :mod:`.runs`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from experiments.paper.exp1 import exp1
from experiments.paper.exp2 import exp2_notebook
from experiments.paper.finite_n import finite_n, fit_finite_n
from experiments.paper.stats import first_hit, speedup
from experiments.paper.sweep import exp2_meanfield

__all__ = ["COMMANDS", "first_hit", "fit_finite_n", "main", "speedup"]

HERE = Path(__file__).resolve().parents[1]
RESULTS = HERE / "results"
RUNS = HERE / "runs"

COMMANDS = {
    "exp1-good": lambda a: exp1("good", a),
    "exp1-bad": lambda a: exp1("bad", a),
    "exp2-notebook": exp2_notebook,
    "exp2-meanfield": exp2_meanfield,
    "finite-n": finite_n,
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.paper", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=[*COMMANDS, "all"])
    parser.add_argument("--seeds", type=int, help="override the number of seeds")
    parser.add_argument("--steps", type=int, help="override the steps of experiment 2 (notebook settings)")
    parser.add_argument("--smoke", action="store_true", help="a tiny version, for tests")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the tables and figures go")
    parser.add_argument("--runs", type=Path, default=RUNS, help="where the raw run directories go")
    args = parser.parse_args(argv)
    commands = list(COMMANDS) if args.command == "all" else [args.command]
    for name in commands:
        print(f"{name}:", flush=True)
        print(json.dumps(COMMANDS[name](args), indent=1, default=float), flush=True)
    return 0
