"""The ``mfbd`` command line: run, resume, plot and list experiments.

Errors in the input (config, ``--set``, directories) print one line
``mfbd: error: ...`` to stderr and exit with code 2, writing nothing.
Exit codes: 0 done (a sweep: even if some points stopped on a non-finite value,
reported as such; ``--strict`` makes that 1), 1 an arm of a plain run stopped on a
non-finite value, 2 bad input, 130 interrupted by Ctrl-C, 143 by SIGTERM (both
wrote a checkpoint; continue with ``--resume``).

The command composes the pieces: :mod:`mfbd.runner` runs (and neither prints
nor draws), :class:`~mfbd.progress.ProgressBar` reports on a terminal and
:class:`~mfbd.progress.ProgressLines` elsewhere, then the failures, the figures
(:func:`mfbd.plotting.plot_run`) and the summary table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from mfbd.progress import ProgressBar, ProgressLines, Reporter, Reporters

__all__ = ["main", "entry", "run_config", "resume_run", "ProgressBar", "ProgressLines", "version"]
_ = time  # the reporters' clock, patched by the tests through this module

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
    run.add_argument(
        "--smoke",
        action="store_true",
        help="a quick check of the config: 40 steps, 16 particles, 2 seeds (quench and schedules scaled to fit); "
        "a swept run.steps, run.n or run.seeds: its smallest value becomes that size, the others keep their ratio",
    )
    run.add_argument(
        "--strict", action="store_true", help="exit 1 when a sweep point fails (default: report it, exit 0)"
    )
    run.add_argument(
        "--tensorboard", metavar="DIR", help="stream the metrics to TensorBoard event files in DIR (mfbd[tensorboard])"
    )

    plot = commands.add_parser(
        "plot",
        help="(re)draw the figures of a run",
        description="Draw energy.{png,pdf} and particles.{png,pdf} of a run directory.",
        epilog="example:\n  mfbd plot runs/exp1_good-20250101-120000",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    plot.add_argument("run_dir", metavar="RUN_DIR")
    for command in (run, plot):
        command.add_argument(
            "--no-compile-cache",
            action="store_true",
            help="do not use the persistent compilation cache (also: MFBD_NO_COMPILATION_CACHE=1; "
            "its folder: MFBD_CACHE_DIR, default ~/.cache/mfbd/jax)",
        )

    commands.add_parser("list", help="list the bundled configs", description="List the bundled configs.")
    return parser


def _summary(status, config):
    """The closing table: final energy per arm (mean ± sd over seeds), wall time, the run directory."""
    from mfbd.config.schema import kind_of
    from mfbd.runner import rundir

    metrics = rundir.read_metrics(status.run_dir)
    arms = rundir.read_status(status.run_dir)
    width = max(len("arm"), *(len(name) for name, _ in config.arms)) + 2
    meaning = kind_of(config.problem).energy_meaning
    what = f"final E = {meaning}" if meaning else "final energy"
    print(f"{'arm':<{width}}{what + ' (mean ± sd over seeds)':<40}{'wall s':>8}")
    for name, _ in config.arms:
        entry = arms[name]
        if entry["status"] == "failed":
            result = f"non-finite by step {entry['failed_at']}"
        else:
            final = metrics[name]["energy"][:, -1]
            result = f"{final.mean():.4e} ± {final.std():.1e}"
        print(f"{name:<{width}}{result:<40}{entry['wall_s']:>8.1f}")


def _draw(run_dir) -> list:
    """The figures of a run directory of either layout (a sweep: its table and figure, and a line on stderr
    naming the groups not finished yet: parts still running or stopped)."""
    from mfbd.plotting import plot
    from mfbd.plotting.sweep_curves import group_of
    from mfbd.runner import rundir

    if group_of(run_dir) is None and rundir.layout(run_dir) == "sweep" and (missing := rundir.unfinished(run_dir)):
        print(
            f"mfbd: {len(missing)} group(s) not finished yet: {', '.join(missing)}; the figures show the others "
            f"(run the missing --part, or `mfbd run --resume {run_dir}`)",
            file=sys.stderr,
        )
    return plot(run_dir)


def _finish(status, spec, quiet: bool, plot: bool, notes=(), strict: bool = False) -> int:
    """Report a session of the runner: notes, failures, interruption, the figures and the summary; the exit
    code (a sweep's failed points are reported and exit 0 unless ``strict``)."""
    from mfbd.config import Config

    for line in notes:
        print(line, file=sys.stderr)
    for message in (*status.warnings, *status.failures):
        print(f"mfbd: {message}", file=sys.stderr)
    if status.interrupted:
        what = "terminated (SIGTERM)" if status.terminated else "interrupted"
        print(
            f"mfbd: {what}; checkpoint written. Continue with: mfbd run --resume {status.run_dir}",
            file=sys.stderr,
        )
        return status.code
    figures = _draw(status.run_dir) if plot else []
    if not quiet:
        if isinstance(spec, Config):
            _summary(status, spec)
        else:
            _sweep_table(status.run_dir)
        drawn = f"  (figures: {', '.join(p.name for p in figures)})" if figures else ""
        print(f"run directory: {status.run_dir}{drawn}")
    if status.code == 1 and not isinstance(spec, Config) and not strict:
        print(f"mfbd: {len(status.failures)} sweep point(s) failed (reported above; --strict exits 1)", file=sys.stderr)
        return 0
    return status.code


def _sweep_table(run_dir) -> None:
    """The sweep's table of points (:func:`mfbd.plotting.sweep.table_text`), if it can be made."""
    from mfbd.plotting.sweep import table_text

    text = table_text(run_dir)
    if text:
        print(text)


def _bar(reporter, quiet, tensorboard=None):
    """The session's reporter: the caller's, else a bar on a terminal or lines elsewhere (none if
    ``quiet``), with a TensorBoard tracker streaming the rows if ``tensorboard`` names a folder."""
    from mfbd.config import ConfigError

    if reporter is None and not quiet:
        reporter = ProgressBar() if sys.stderr.isatty() else ProgressLines()
    if tensorboard is None:
        return reporter
    from mfbd.trackers import TensorBoard

    try:
        tracker = TensorBoard(tensorboard)
    except ImportError as e:
        raise ConfigError(f"--tensorboard: {e}") from None
    return Reporters(reporter if isinstance(reporter, Reporter) else Reporter(reporter), tracker)


def _session(call, bar):
    try:
        return call(bar)
    finally:
        if isinstance(bar, Reporter):
            bar.close()


def run_config(
    spec, out=None, *, quiet=False, plot=True, reporter=None, force=False, part=None, strict=False, tensorboard=None
) -> int:
    """``mfbd run CONFIG`` of a config or a sweep: the runner, progress (a bar on a terminal, lines
    elsewhere), the figures and the summary. Returns the exit code (see the module's docstring)."""
    from mfbd import runner
    from mfbd.config import Sweep

    bar = _bar(reporter, quiet, tensorboard)
    status = _session(lambda r: runner.run(spec, out, reporter=r, force=force, part=part), bar)
    notes = runner.rundir.read_metadata(status.run_dir).get("plan", []) if isinstance(spec, Sweep) else []
    return _finish(status, spec, quiet, plot, notes, strict)


def resume_run(
    run_dir, *, quiet=False, plot=True, reporter=None, force=False, part=None, strict=False, tensorboard=None
) -> int:
    """``mfbd run --resume RUN_DIR`` of a run or a sweep, reported as :func:`run_config`."""
    from mfbd import runner
    from mfbd.config import read
    from mfbd.runner.rundir import CONFIG

    bar = _bar(reporter, quiet, tensorboard)
    status = _session(lambda r: runner.resume(run_dir, reporter=r, force=force, part=part), bar)
    return _finish(status, read(str(status.run_dir / CONFIG), force=True), quiet, plot, (), strict)


def _run(args) -> int:
    from mfbd.config import ConfigError, read, shrink

    options = {"quiet": args.quiet, "force": args.force, "part": _part(args.part), "strict": args.strict}
    options["tensorboard"] = args.tensorboard
    if args.resume is not None:
        if args.config is not None or args.sets or args.out is not None or args.smoke:
            raise ConfigError(
                "--resume takes no CONFIG, --set, --out or --smoke: a run continues with its own config.toml"
            )
        return resume_run(args.resume, **options)
    if args.config is None:
        raise ConfigError(
            "mfbd run needs a CONFIG (a TOML file or a bundled name, see `mfbd list`) or --resume RUN_DIR"
        )
    spec = read(args.config, args.sets, force=args.force)
    return run_config(shrink(spec) if args.smoke else spec, args.out, **options)


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
    from mfbd.plotting.sweep_curves import group_of
    from mfbd.runner import rundir
    from mfbd.runner.rundir import CONFIG, METRICS

    run_dir = Path(args.run_dir)
    if (
        group_of(run_dir) is None and rundir.layout(run_dir) == "run"
    ):  # read every file first, so a damaged one draws nothing
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


def main(argv: list[str] | None = None, *, compile_cache: bool = False) -> int:
    """Entry point of the ``mfbd`` command; returns the exit code.

    ``compile_cache``: turn on JAX's persistent compilation cache (:mod:`mfbd._cache`) unless
    ``--no-compile-cache`` is given; the ``mfbd`` script does, so that a second run, a resume
    or a re-plot of the same config compiles nothing new.
    """
    args = _parser().parse_args(argv)
    from mfbd.config import ConfigError

    if compile_cache and args.command in ("run", "plot") and not args.no_compile_cache:
        from mfbd._cache import enable_compilation_cache

        enable_compilation_cache()

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

    After Ctrl-C or SIGTERM (code 130 or 143, the checkpoint already written and closed) the process ends
    at once: an XLA compilation interrupted mid-way may still hold a thread, and the interpreter's teardown
    could then crash (exit 139) instead of exiting 130 or 143.
    """
    code = main(compile_cache=True)
    if code in (INTERRUPTED, TERMINATED):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


INTERRUPTED, TERMINATED = 130, 143

if __name__ == "__main__":
    entry()
