"""``python -m experiments.sampling <study> [--smoke]``: run one study (or ``all``)."""

import argparse
import importlib
import time

import jax

STUDIES = (
    "gaussian",
    "double_well",
    "double_well_mechanism",
    "four_modes",
    "equal_cost",
    "covariance_bias",
    "splitting_order",
    "side_by_side",
)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m experiments.sampling")
    parser.add_argument("study", choices=[*STUDIES, "all"])
    parser.add_argument("--smoke", action="store_true", help="tiny settings (a smoke test)")
    parser.add_argument("--seeds", type=int, default=None, help="override the number of seeds")
    parser.add_argument("--skip", default="", help="four_modes: comma-separated arms to leave out (or 'particles')")
    parser.add_argument("--part", default="all", help="double_well_mechanism: growth, both or loo (default all)")
    args = parser.parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    for name in STUDIES if args.study == "all" else [args.study]:
        start = time.perf_counter()
        extra = {"skip": tuple(args.skip.split(","))} if args.skip and name == "four_modes" else {}
        extra |= {"part": args.part} if name == "double_well_mechanism" else {}
        importlib.import_module(f"experiments.sampling.{name}").main(smoke=args.smoke, seeds=args.seeds, **extra)
        print(f"{name}: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
