"""``python -m experiments.evidence {speedup,dt-ladder,rates,meanfield} [--seeds S] [--quick]``."""

import argparse

parser = argparse.ArgumentParser(prog="python -m experiments.evidence")
parser.add_argument("study", choices=["speedup", "dt-ladder", "rates", "meanfield"])
parser.add_argument("--seeds", type=int, default=20, help="20 (16 for meanfield)")
parser.add_argument("--quick", action="store_true", help="a small first look")
args = parser.parse_args()
if args.study == "speedup":
    from experiments.evidence.speedup import main
elif args.study == "dt-ladder":
    from experiments.evidence.dt_ladder import main
elif args.study == "rates":
    from experiments.evidence.rates import main
else:
    from experiments.evidence.meanfield_check import main
main(seeds=args.seeds, quick=args.quick)
