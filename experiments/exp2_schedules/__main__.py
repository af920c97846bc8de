"""``python -m experiments.exp2_schedules [--smoke] [--only study|repro|report]``: experiment 2 with rate schedules
(see experiments/README.md); the results go to ``--results`` (CSV, PNG, summary), the raw traces to ``--runs``."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax

from experiments.common import machine_record
from experiments.exp2_schedules import report, repro, study


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.exp2_schedules", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (n = 16, 2 seeds, t ≤ 400), for tests")
    parser.add_argument("--only", choices=("all", "study", "repro", "report"), default="all")
    parser.add_argument("--results", type=Path, default=None, help="default experiments/results/exp2_schedules")
    parser.add_argument("--runs", type=Path, default=None, help="raw traces; default experiments/runs/")
    args = parser.parse_args(argv)
    tag = "exp2_schedules_smoke" if args.smoke else "exp2_schedules"
    out = args.results or Path("experiments/results") / tag
    raw = args.runs or Path("experiments/runs") / tag
    out.mkdir(parents=True, exist_ok=True)
    raw.mkdir(parents=True, exist_ok=True)
    sizes = study.SMOKE if args.smoke else study.FULL
    summary_path = out / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    with jax.enable_x64(True):
        if args.only in ("all", "study"):  # (--only report: tables and figure from the saved traces)
            t0 = time.perf_counter()
            walls = study.run(sizes, out, raw)["walls"]
            summary["study"] = {"sizes": repr(sizes), "walls": walls, "wall_s": time.perf_counter() - t0}
        if args.only in (("repro",) if args.smoke else ("all", "repro")):  # --smoke alone: the study only
            t0 = time.perf_counter()
            summary["reproduction"] = repro.reproduce(args.smoke)
            summary["reproduction"]["wall_s"] = time.perf_counter() - t0
            summary_path.write_text(json.dumps(summary, indent=2, default=float) + "\n")
        if args.only == "report" and (raw / "gd-dt5.0.npz").exists():  # re-derive the tables from the traces
            study.rebuild(sizes, out, raw, summary.get("study", {}).get("walls", {}))
    summary |= {"smoke": args.smoke, "machine": machine_record()}
    summary_path.write_text(json.dumps(summary, indent=2, default=float) + "\n")
    report.render(out, sizes)
    print(f"exp2_schedules: results in {out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
