"""Run every benchmark, print the table, write the CSV, the machine record and the plot.

Usage (from the repository root)::

    python -m experiments.benchmarks            # the full table (CPU: about 15-25 min)
    python -m experiments.benchmarks --quick    # fewer repeats, smaller worst cases
    python -m experiments.benchmarks --only step memory
    python -m experiments.benchmarks --smoke --only reaction roofline compile_cache   # minutes

Results go to ``experiments/benchmarks/results/`` (or ``--out``):
``benchmarks_<backend>[_quick].csv``, ``machine_<backend>[_quick].json`` and
``scaling_<backend>[_quick].png``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import sys
import time

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

import jax  # noqa: E402

from experiments.benchmarks import (  # noqa: E402
    compile_cache,
    ensemble,
    experiment1,
    memory,
    reaction,
    roofline,
    scaling,
    step,
    sweep,
)
from experiments.benchmarks.common import Row, Settings, machine  # noqa: E402
from experiments.common import write_rows  # noqa: E402

BENCHMARKS = {
    "step": step,
    "reaction": reaction,
    "roofline": roofline,
    "compile_cache": compile_cache,
    "memory": memory,
    "ensemble": ensemble,
    "experiment1": experiment1,
    "scaling": scaling,
    "sweep": sweep,
}
RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def format_table(rows: list[Row]) -> str:
    header = ("benchmark", "case", "value", "baseline", "ratio", "target", "met", "note")
    lines = []
    for r in rows:
        base = f"{r.baseline} {r.baseline_value:.4g}" if r.baseline else ""
        ratio = f"{r.ratio:.3g}" if r.ratio == r.ratio else ""
        lines.append((r.benchmark, r.case, f"{r.value:.4g} {r.unit}", base, ratio, r.target, r.met, r.note))
    widths = [max(len(str(x)) for x in column) for column in zip(header, *lines, strict=True)]
    widths[-1] = 0  # the note runs free
    fmt = " | ".join(f"{{:{w}}}" for w in widths)
    out = [fmt.format(*header), "-+-".join("-" * w for w in widths[:-1]) + "-+-----"]
    out += [fmt.format(*line) for line in lines]
    return "\n".join(out)


def write_results(rows: list[Row], info: dict, out: pathlib.Path, suffix: str):
    """``benchmarks_<suffix>.csv`` (one line per row, with ``met``) and ``machine_<suffix>.json``."""
    columns = [f.name for f in dataclasses.fields(Row)] + ["met"]
    write_rows(out / f"benchmarks_{suffix}.csv", [dataclasses.asdict(r) | {"met": r.met} for r in rows], columns)
    (out / f"machine_{suffix}.json").write_text(json.dumps(info, indent=1) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="mfbd benchmarks: ratios against in-process baselines")
    parser.add_argument("--quick", "--smoke", dest="quick", action="store_true", help="fewer repeats, smaller cases")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), help="run only these benchmarks")
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS, help="directory for CSV, JSON and PNG")
    args = parser.parse_args(argv)
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", False)  # float32 throughout, and the caller's precision restored after
    try:
        return _run(args)
    finally:
        jax.config.update("jax_enable_x64", previous)


def _run(args) -> int:
    settings = Settings(quick=args.quick)
    suffix = f"{jax.default_backend()}{'_quick' if args.quick else ''}"
    args.out.mkdir(parents=True, exist_ok=True)
    info = machine()
    print("machine:", json.dumps(info), flush=True)

    rows: list[Row] = []
    seconds = {}
    for name in args.only or BENCHMARKS:
        start = time.perf_counter()
        module = BENCHMARKS[name]
        if name == "scaling":
            new = module.run(settings, plot_path=args.out / f"scaling_{suffix}.png")
        else:
            new = module.run(settings)
        seconds[name] = time.perf_counter() - start
        rows += new
        print(f"\n[{name}: {seconds[name]:.0f} s]\n{format_table(new)}", flush=True)
        info["benchmark_seconds"] = seconds
        info["load_average_1min_end"] = os.getloadavg()[0]
        write_results(rows, info, args.out, suffix)  # after each benchmark: a cut-off run keeps what it did

    print("\n=== mfbd benchmarks:", info["cpu"], f"({info['cores']} cores),", info["devices"], "jax", info["jax"])
    print(format_table(rows))
    missed = [r for r in rows if r.met == "NOT met"]
    print(f"\n{sum(r.met == 'met' for r in rows)} targets met, {len(missed)} not met; results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
