"""The ``mfbd`` command line: run, resume, plot and list experiments.

Errors in the input (config, ``--set``, directories) print one line
``mfbd: error: ...`` to stderr and exit with code 2, writing nothing.
Exit codes: 0 done, 1 an arm stopped on a non-finite value, 2 bad input,
130 interrupted (a checkpoint was written; continue with ``--resume``).

The command composes the pieces: :mod:`mfbd.runner` runs (and neither prints
nor draws), :class:`ProgressBar` reports on a terminal, then the failures,
the figures (:func:`mfbd.plotting.plot_run`) and the summary table.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import sys
import time

__all__ = ["main", "entry", "run_config", "resume_run", "ProgressBar", "version"]

EXAMPLES = """\
examples:
  mfbd list                                   the bundled configs
  mfbd run exp1_good                          experiment 1, good start, into runs/exp1_good-<time>
  mfbd run exp1_good --set run.seeds=3 --set arms.bd.alpha=10 --out runs/try
  mfbd run my_experiment.toml --quiet
  mfbd run exp2_meanfield_sweep               a config with a [sweep] table: one program per shape
  mfbd run exp1_good --set 'sweep.arms.bd.alpha=[1,5,10]' --out runs/alpha
  mfbd run exp2_meanfield_sweep --out runs/s --part 2/4   the 2nd of 4 shares of a sweep's groups
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


def version() -> str:
    """The installed version of mfbd (``mfbd.__version__`` when run from a source tree)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("mfbd")
    except PackageNotFoundError:
        import mfbd

        return mfbd.__version__


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
    parser.add_argument("--version", action="version", version=f"mfbd {version()}")
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
    run.add_argument(
        "--part",
        metavar="I/K",
        help="run the I-th of K disjoint shares of a [sweep]'s groups into the same --out (one per scheduler task)",
    )
    run.add_argument(
        "--force", action="store_true", help="run a [sweep] of more than 10 000 points, or beyond the memory estimate"
    )

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


class ProgressBar:
    """A one-line bar on a terminal: arm, steps done, steps/s and ETA of the arm (updated per chunk).

    Rate and ETA are the arm's own, measured from its first report, so the
    compilation (which happens before an arm's first chunk returns) is not counted.
    """

    def __init__(self, stream=None, width: int = 28):
        self.stream, self.width = stream if stream is not None else sys.stderr, width
        self.start: tuple[str, float, int] | None = None
        self.drawn = False

    def __call__(self, arm: str, done: int, total: int):
        now = time.perf_counter()
        if self.start is None or self.start[0] != arm or done < self.start[2]:
            self.start = (arm, now, done)
            rate_text, eta_text = "- steps/s", "?"  # this arm's first chunk: its compilation included
        else:
            _, t0, d0 = self.start
            rate = (done - d0) / max(now - t0, 1e-9)
            rate_text = f"{rate:,.0f} steps/s"
            eta = (total - done) / rate if rate > 0 else float("inf")
            eta_text = str(datetime.timedelta(seconds=round(eta))) if math.isfinite(eta) else "?"
        fill = round(self.width * done / total)
        bar = "#" * fill + "-" * (self.width - fill)
        self.stream.write(f"\r{arm:>12} [{bar}] {done}/{total} steps  {rate_text}  ETA {eta_text}  ")
        self.stream.flush()
        self.drawn = True

    def close(self):
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False


def _summary(status, config):
    """The closing table: final energy per arm (mean ± sd over seeds), wall time, the run directory."""
    from mfbd.runner import rundir

    metrics = rundir.read_metrics(status.run_dir)
    arms = rundir.read_status(status.run_dir)
    print(f"{'arm':<14}{'final energy (mean ± sd over seeds)':<40}{'wall s':>8}")
    for name, _ in config.arms:
        entry = arms[name]
        if entry["status"] == "failed":
            result = f"non-finite by step {entry['failed_at']}"
        else:
            final = metrics[name]["energy"][:, -1]
            result = f"{final.mean():.4e} ± {final.std():.1e}"
        print(f"{name:<14}{result:<40}{entry['wall_s']:>8.1f}")


def _draw(run_dir) -> list:
    """The figures of a run directory of either layout (a sweep: its table and figure, and a line on stderr
    naming the groups not finished yet: parts still running or stopped)."""
    from mfbd.plotting import plot
    from mfbd.runner import rundir

    if rundir.layout(run_dir) == "sweep" and (missing := rundir.unfinished(run_dir)):
        print(
            f"mfbd: {len(missing)} group(s) not finished yet: {', '.join(missing)}; the figures show the others "
            f"(run the missing --part, or `mfbd run --resume {run_dir}`)",
            file=sys.stderr,
        )
    return plot(run_dir)


def _finish(status, spec, quiet: bool, plot: bool, notes=()) -> int:
    """Report a session of the runner: notes, failures, Ctrl-C, the figures and the summary; the exit code."""
    from mfbd.config import Config

    for line in notes:
        print(line, file=sys.stderr)
    for message in status.failures:
        print(f"mfbd: {message}", file=sys.stderr)
    if status.interrupted:
        print(
            f"mfbd: interrupted; checkpoint written. Continue with: mfbd run --resume {status.run_dir}",
            file=sys.stderr,
        )
        return status.code
    figures = _draw(status.run_dir) if plot else []
    if not quiet:
        if isinstance(spec, Config):
            _summary(status, spec)
        drawn = f"  (figures: {', '.join(p.name for p in figures)})" if figures else ""
        print(f"run directory: {status.run_dir}{drawn}")
    return status.code


def _bar(reporter, quiet):
    if reporter is not None:
        return reporter
    return ProgressBar() if (not quiet and sys.stderr.isatty()) else None


def run_config(spec, out=None, *, quiet: bool = False, plot: bool = True, reporter=None, force=False, part=None) -> int:
    """``mfbd run CONFIG`` of a config or a sweep: the runner, a progress bar on a terminal, the figures
    and the summary. Returns the exit code: 0, 1 if an arm stopped on a non-finite value, 130 if interrupted."""
    from mfbd import runner
    from mfbd.config import Sweep

    bar = _bar(reporter, quiet)
    try:
        status = runner.run(spec, out, reporter=bar, force=force, part=part)
    finally:
        if isinstance(bar, ProgressBar):
            bar.close()
    notes = runner.rundir.read_metadata(status.run_dir).get("plan", []) if isinstance(spec, Sweep) else []
    return _finish(status, spec, quiet, plot, notes)


def resume_run(run_dir, *, quiet: bool = False, plot: bool = True, reporter=None, force=False, part=None) -> int:
    """``mfbd run --resume RUN_DIR`` of a run or a sweep, reported as :func:`run_config`."""
    from mfbd import runner
    from mfbd.config import read
    from mfbd.runner.rundir import CONFIG

    bar = _bar(reporter, quiet)
    try:
        status = runner.resume(run_dir, reporter=bar, force=force, part=part)
    finally:
        if isinstance(bar, ProgressBar):
            bar.close()
    return _finish(status, read(str(status.run_dir / CONFIG), force=True), quiet, plot)


def _run(args) -> int:
    from mfbd.config import ConfigError, read

    if args.resume is not None:
        if args.config is not None or args.sets or args.out is not None:
            raise ConfigError("--resume takes no CONFIG, --set or --out: a run continues with its own config.toml")
        return resume_run(args.resume, quiet=args.quiet, force=args.force, part=_part(args.part))
    if args.config is None:
        raise ConfigError(
            "mfbd run needs a CONFIG (a TOML file or a bundled name, see `mfbd list`) or --resume RUN_DIR"
        )
    part = _part(args.part)
    spec = read(args.config, args.sets, force=args.force)
    return run_config(spec, args.out, quiet=args.quiet, force=args.force, part=part)


def _part(text: str | None) -> tuple[int, int] | None:
    """``--part I/K`` as ``(I, K)`` with 1 ≤ I ≤ K."""
    import re

    from mfbd.config import ConfigError

    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise ConfigError(f"--part {text!r}: write I/K with 1 ≤ I ≤ K, e.g. --part 2/3 (the 2nd of 3 shares)")
    return int(match[1]), int(match[2])


def _plot(args) -> int:
    from pathlib import Path

    from mfbd.config import ConfigError, load
    from mfbd.runner import rundir
    from mfbd.runner.rundir import CONFIG, METRICS

    run_dir = Path(args.run_dir)
    if rundir.layout(run_dir) == "run":  # read every file first, so a damaged one draws nothing
        config = load(str(run_dir / CONFIG))
        metrics, _ = rundir.read_metrics(run_dir), rundir.read_status(run_dir)
        for name, _ in config.arms:
            rundir.read_snapshots(run_dir, name)
        if not metrics:
            raise ConfigError(f"{run_dir / METRICS} has no rows: nothing to plot (did the run start?)")
    for path in _draw(run_dir):
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


def entry() -> None:
    """The ``mfbd`` script and ``python -m mfbd``: :func:`main`, then exit with its code.

    After Ctrl-C (code 130, the checkpoint already written and closed) the process ends at once: an XLA
    compilation interrupted mid-way may still hold a thread, and the interpreter's teardown could then
    crash (exit 139) instead of exiting 130.
    """
    code = main()
    if code == INTERRUPTED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


INTERRUPTED = 130

if __name__ == "__main__":
    entry()
