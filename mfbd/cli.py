"""The ``mfbd`` command line: run, resume, plot and list experiments.

Errors in the input (config, ``--set``, directories) print one line
``mfbd: error: ...`` to stderr and exit with code 2, writing nothing.
Exit codes: 0 done, 1 an arm stopped on a non-finite value, 2 bad input,
130 interrupted (a checkpoint was written; continue with ``--resume``).
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]

EXAMPLES = """\
examples:
  mfbd list                                   the bundled configs
  mfbd run exp1_good                          experiment 1, good start, into runs/exp1_good-<time>
  mfbd run exp1_good --set run.seeds=3 --set arms.bd.alpha=10 --out runs/try
  mfbd run my_experiment.toml --quiet
  mfbd run --resume runs/try                  continue an interrupted run
  mfbd plot runs/try                          redraw the figures
"""

RUN_EXAMPLES = """\
examples:
  mfbd run exp1_good
  mfbd run exp1_bad --set run.seeds=[0,1,2] --set run.dtype=float32 --out runs/bad32
  mfbd run exp2_icml --set run.steps=2000 --set run.n=64 --quiet
  mfbd run --resume runs/bad32

--set takes a dotted key and a TOML value (numbers, true/false, [lists],
"strings"; a bare word is a string). Keys are those of the config file:
[problem], [run] and [arms.NAME]. Ctrl-C writes a checkpoint; --resume
continues it and ends exactly as an uninterrupted run.
"""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error: ``mfbd: error: ...`` and exit code 2."""

    def error(self, message):
        self.exit(2, f"mfbd: error: {message} (see `{self.prog} --help`)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mfbd",
        description="Mean-field particle dynamics of neural networks: gradient flow, neuron birth-death, reweighting.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    run = commands.add_parser(
        "run",
        help="run a config (or --resume a run)",
        description="Run every arm of a config over every seed into a new run directory.",
        epilog=RUN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("config", nargs="?", metavar="CONFIG", help="a TOML file or the name of a bundled config")
    run.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", dest="sets", help="override a config value"
    )
    run.add_argument("--out", metavar="DIR", help="the run directory (new); default runs/<name>-<timestamp>")
    run.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its checkpoint")
    run.add_argument("--quiet", action="store_true", help="no progress bar and no summary")

    plot = commands.add_parser(
        "plot",
        help="(re)draw the figures of a run",
        description="Draw energy.{png,pdf} and particles.{png,pdf} of a run directory.",
        epilog="example:\n  mfbd plot runs/exp1_good-20250101-120000",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    plot.add_argument("run_dir", metavar="RUN_DIR")

    commands.add_parser("list", help="list the bundled configs", description="List the bundled configs.")
    return parser


def _run(args) -> int:
    from mfbd import runner
    from mfbd.config import ConfigError, load

    if args.resume is not None:
        if args.config is not None or args.sets or args.out is not None:
            raise ConfigError("--resume takes no CONFIG, --set or --out: a run continues with its own config.toml")
        return runner.resume(args.resume, quiet=args.quiet)
    if args.config is None:
        raise ConfigError(
            "mfbd run needs a CONFIG (a TOML file or a bundled name, see `mfbd list`) or --resume RUN_DIR"
        )
    return runner.start(load(args.config, args.sets), args.out, quiet=args.quiet)


def _plot(args) -> int:
    from pathlib import Path

    from mfbd.config import ConfigError
    from mfbd.plotting import plot_run
    from mfbd.runner import CONFIG, METRICS

    run_dir = Path(args.run_dir)
    if not (run_dir / CONFIG).is_file() or not (run_dir / METRICS).is_file():
        raise ConfigError(f"{run_dir} is not an mfbd run directory (needs {CONFIG} and {METRICS})")
    for path in plot_run(run_dir):
        print(path)
    return 0


def _list(args) -> int:
    from mfbd.config import bundled, read_toml

    configs = bundled()
    width = max(map(len, configs))
    for name, path in configs.items():
        print(f"{name:<{width}}  {read_toml(path).get('description', '')}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mfbd`` command; returns the exit code."""
    args = _parser().parse_args(argv)
    from mfbd.config import ConfigError

    try:
        return {"run": _run, "plot": _plot, "list": _list}[args.command](args)
    except ConfigError as e:
        print(f"mfbd: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
