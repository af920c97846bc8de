"""``python -m experiments.evidence {speedup,dt-ladder,rates,meanfield,exp2-fresh,exp2-stability,particle-rates,
lineage,icml,sgd} [--seeds S] [--smoke] [--large]``."""

import argparse

import jax

parser = argparse.ArgumentParser(prog="python -m experiments.evidence")
parser.add_argument(
    "study",
    choices=[
        "speedup",
        "dt-ladder",
        "rates",
        "meanfield",
        "exp2-fresh",
        "exp2-stability",
        "particle-rates",
        "lineage",
        "icml",
        "sgd",
    ],
)
parser.add_argument("--seeds", type=int, default=20, help="20 (16 for meanfield)")
parser.add_argument("--smoke", action="store_true", help="a small first look")
parser.add_argument("--report-only", action="store_true", help="speedup, exp2-stability: tables from the saved curves")
parser.add_argument("--large", action="store_true", help="meanfield, exp2-*, particle-rates, lineage: full sizes (GPU)")
parser.add_argument(
    "--n", type=int, default=None, help="exp2-fresh only: the width (200; study 3: 10 seeds, T = 1 000 unless --large)"
)
parser.add_argument("--inputs", choices=["gaussian", "sphere"], default=None, help="icml only: the inputs (gaussian)")
args = parser.parse_args()
if args.study == "speedup":
    from experiments.evidence.speedup import main
elif args.study == "dt-ladder":
    from experiments.evidence.dt_ladder import main
elif args.study == "rates":
    from experiments.evidence.rates import main
elif args.study == "exp2-fresh":
    from experiments.evidence.exp2_fresh import main
elif args.study == "exp2-stability":
    from experiments.evidence.exp2_stability import main
elif args.study == "particle-rates":
    from experiments.evidence.particle_rates import main
elif args.study == "lineage":
    from experiments.evidence.lineage import main
elif args.study == "icml":
    from experiments.evidence.icml import main
elif args.study == "sgd":
    from experiments.evidence.sgd import main
else:
    from experiments.evidence.meanfield_check import main
extra = {"large": True} if args.large else {"report_only": True} if args.report_only else {}
extra |= {"n": args.n} if args.n else {}
extra |= {"inputs": args.inputs} if args.inputs else {}
with jax.enable_x64(True):
    main(seeds=args.seeds, smoke=args.smoke, **extra)
