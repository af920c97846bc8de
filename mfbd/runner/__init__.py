"""The experiment runner: a config or a sweep in, a run directory (:mod:`mfbd.runner.rundir`) out.

A plain run is a sweep of one point: :func:`run` takes a :class:`~mfbd.config.Config` or a
:class:`~mfbd.config.Sweep`, asks the plan once (:mod:`mfbd.runner.plan`: sizes, memory,
devices, groups) before anything is written, and runs each group with the one loop
(:mod:`mfbd.runner.loop`): arms one after the other, chunk by chunk, every arm's values
× seeds as one vmapped, jitted program. Seed s draws its initial particles, the key of the
initial oracle pass and the run key from ``split(key(s), 3)``
(:func:`mfbd.simulate.seed_keys`); every arm uses the same three, so the arms start from
the same particles and (in data mode) see the same batches. A resumed run or sweep ends
bit-identical to an uninterrupted one.

The runner neither prints nor draws: it returns a :class:`RunStatus` and reports progress
through a :class:`Reporter`. The ``mfbd`` command (:mod:`mfbd.cli`) adds the progress bar,
the summary and the figures.
"""

from __future__ import annotations

import csv
import dataclasses
import sys
import time
from pathlib import Path

import jax

from mfbd.config.schema import Config
from mfbd.config.sweep import Sweep, read, validate
from mfbd.config.toml import ConfigError
from mfbd.progress import Position, Reporter
from mfbd.runner import plan as _plan
from mfbd.runner import rundir
from mfbd.runner.checkpoint import CHECKPOINT, Checkpoint, fingerprint
from mfbd.runner.checkpoint import check as check_fingerprint
from mfbd.runner.loop import Group, Sigint, arm_observe, arm_problem
from mfbd.runner.rundir import CONFIG, METADATA, read_metrics, read_snapshots
from mfbd.simulate import _draw_fn as _particles_fn
from mfbd.simulate import _init_fn

__all__ = ["run", "resume", "start", "RunStatus", "Reporter", "read_metrics", "read_snapshots", "arm_problem"]
__all__ += ["arm_observe", "INTERRUPTED", "TERMINATED", "Position"]

INTERRUPTED = 130
TERMINATED = 143  # 128 + SIGTERM, as a shell reports a process ended by it
_ = (_init_fn, _particles_fn)  # simulate's compiled seeding pieces, for the benchmarks


@dataclasses.dataclass(frozen=True)
class RunStatus:
    """How a session of a run ended.

    Attributes:
      run_dir: the run directory.
      arms: per arm (``group-NNN/ARM`` in a sweep) its status entry (``status``, ``step``, ``wall_s``;
        ``failed_at`` and ``message`` if it stopped on a non-finite value).
      failures: the messages of the arms (or a sweep's points) that stopped in this session.
      interrupted: Ctrl-C or SIGTERM stopped the session (a checkpoint was written).
      terminated: it was SIGTERM (a scheduler's pre-emption or time limit).
      warnings: an arm's energy rose sharply (:mod:`mfbd.runner.watch`), one per arm (none for an arm that
        failed: its failure says so).
    """

    run_dir: Path
    arms: dict[str, dict]
    failures: tuple[str, ...] = ()
    interrupted: bool = False
    terminated: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def code(self) -> int:
        """The exit code: 0 done, 1 an arm failed, 130 interrupted by Ctrl-C, 143 by SIGTERM."""
        if self.interrupted:
            return TERMINATED if self.terminated else INTERRUPTED
        return 1 if self.failures else 0


def _groups(spec, shares: dict[int, list[int]], run_dir: Path):
    """``(path, points, x64)`` of every group to run: a plain run is the one group in the run directory."""
    plain = isinstance(spec, Config)
    for g, members in shares.items():
        config = spec if plain else spec.configs[members[0]]
        yield (run_dir if plain else rundir.group_dir(run_dir, g)), members, config.run.dtype == "float64"


def _share(groups: list[list[int]], part: tuple[int, int] | None) -> dict[int, list[int]]:
    """The groups a session runs: all of them, or part I of K (every K-th group from the I-th)."""
    return {g: members for g, members in enumerate(groups) if part is None or g % part[1] == part[0] - 1}


def _session(run_dir: Path, spec, shares, reporter, metadata: dict, name: str = METADATA, before=None) -> RunStatus:
    """Run a session: every group's checkpoint is checked first, then ``before()`` (a resume's truncation),
    then the groups one after the other under the Ctrl-C and SIGTERM guard; the metadata file ``name``
    records it all."""
    reporter = reporter if isinstance(reporter, Reporter) else Reporter(reporter)
    plain, sigint = isinstance(spec, Config), Sigint()
    built = []
    for path, members, x64 in _groups(spec, shares, run_dir):
        with jax.enable_x64(x64):
            built.append((Group(path, spec, members, reporter, sigint), x64))  # checks before anything is written
    _tally(built, spec)
    if before is not None:
        before()
    entry = {"start": rundir.now(), "end": None, "status": "running", "argv": sys.argv}
    metadata.setdefault("sessions", []).append(entry)
    rundir.write_json(run_dir / name, metadata)
    t0, interrupted, current = time.perf_counter(), False, None
    try:
        with sigint:
            for group, x64 in built:
                if group.done():
                    continue
                current = group
                group.path.mkdir(exist_ok=True)
                (group.path / rundir.SNAPSHOTS).mkdir(exist_ok=True)
                with jax.enable_x64(x64):
                    if not (group.path / CHECKPOINT).is_file():
                        group.checkpoint.save(group.path)  # every arm pending: resumable from the first second
                    group.execute()
    except KeyboardInterrupt:
        if current is not None:
            current.interrupt()
        interrupted = True
    finally:
        reporter.close()
        _close(metadata, entry, built, plain, time.perf_counter() - t0)
        rundir.write_json(run_dir / name, metadata)
    arms = {
        name if plain else f"{group.path.name}/{name}": dict(status)
        for group, _ in built
        for name, status in group.checkpoint.status.items()
    }
    failures = tuple(m for group, _ in built for m in group.failures)
    warned = tuple(m for g, _ in built for a, m in g.watch.warnings.items() if arms[a]["status"] != "failed")
    return RunStatus(run_dir, arms, failures, interrupted, interrupted and sigint.terminated, warned)


class _Tally:
    """The session's arm-steps done of total, for the reporter's :class:`~mfbd.progress.Position`."""

    def __init__(self, total: int, done: int):
        self.total, self.done = total, done


def _tally(built, spec) -> None:
    """Give every group of the session its place and the shared tally (steps its checkpoints already hold)."""
    total = done = 0
    for group, _ in built:
        steps = group.config.run.steps
        total += steps * len(group.arms)
        for s in group.checkpoint.status.values():
            done += steps if s["status"] in ("complete", "failed") else s["step"]
    tally = _Tally(total, done)
    for k, (group, _) in enumerate(built):
        group.tally, group.where = tally, (k + 1, len(built))


def _close(metadata: dict, entry: dict, built, plain: bool, wall: float):
    """The session's end, status and the arms' status and wall times (per group in a sweep), into ``metadata``."""
    entry.update(end=rundir.now(), wall_s=round(wall, 3))
    table = metadata.setdefault("arms" if plain else "groups", {})
    for group, _ in built:
        for name, status in group.checkpoint.status.items():
            arm = table.setdefault(name if plain else f"{group.path.name}/{name}", {"wall_s": 0.0})
            arm.update(status)
            arm["wall_s"] = round(arm.get("wall_s", 0.0) + group.wall.get(name, 0.0), 3)
    finished = all(s["status"] in ("complete", "failed") for s in table.values())
    entry["status"] = "finished" if finished else "interrupted"
    if finished:
        metadata["end_time"] = entry["end"]


def run(spec: Config | Sweep, out: str | None = None, *, reporter=None, force: bool = False, memory=None, part=None):
    """Run a config or a sweep into a new run directory.

    Args:
      spec: a :class:`~mfbd.config.Config` or a :class:`~mfbd.config.Sweep` (from :func:`mfbd.config.read`).
      out: the run directory (must not exist, or be empty); default ``runs/<name>-<timestamp>``.
      reporter: a :class:`Reporter`, or a callable ``reporter(arm, step, steps)`` after every chunk.
      force: run even if a chunk's memory estimate exceeds the device's (:mod:`mfbd.runner.plan`).
      memory: a sweep's byte budget per program (default: half the device's available memory).
      part: ``(I, K)``: run only the I-th of K disjoint shares of a sweep's groups (every K-th group from
        the I-th) into the shared directory ``out`` (:func:`~mfbd.runner.rundir.share_run_dir`); K
        processes (a SLURM array, ``xargs -P``) fill one sweep directory, no file written by two of them.

    Returns:
      The :class:`RunStatus`; Ctrl-C writes a checkpoint and returns with
      ``interrupted=True`` (continue with :func:`resume`).

    Raises:
      ConfigError: a size is beyond the machine, the problem or a scheme refuses its values, the config
        does not re-read from its config.toml, or the output directory exists or cannot be written;
        nothing is written then.
    """
    if part is not None and isinstance(spec, Config):
        raise ConfigError("--part shares out the groups of a [sweep]; this config has no [sweep] table")
    plan = _plan.make(spec, force=force, memory=memory)  # sizes, memory, devices: nothing built yet
    if part is not None and part[1] > len(plan.groups):
        count = len(plan.groups)
        raise ConfigError(f"--part {part[0]}/{part[1]}: the sweep has {count} group(s); use K ≤ {count}")
    validate(spec)
    if part is None:
        run_dir = rundir.new_run_dir(spec, out)
    else:
        run_dir = rundir.share_run_dir(spec, out, plan.groups)
        if (run_dir / rundir.metadata_name(part)).exists():
            raise ConfigError(f"{run_dir} already has part {part[0]}/{part[1]}; continue it with --resume --part")
    metadata = {"config": spec.name, **rundir.versions()}
    if (source := _copy_source(spec, run_dir)) is not None:
        metadata["problem_source"] = source
    if isinstance(spec, Config):
        seeds = list(spec.run.seed_list)
        metadata.update(x64=spec.run.dtype == "float64", dtype=spec.run.dtype, seeds=seeds)
    else:
        if part is None:
            rundir.write_index(run_dir, spec, plan.groups)
        points = {"keys": list(spec.keys), "mode": spec.mode, "points": len(spec.points), "groups": len(plan.groups)}
        metadata.update(sweep=points, plan=plan.notes, fingerprint=fingerprint(spec))
    metadata.update(start_time=rundir.now(), end_time=None)
    return _session(run_dir, spec, _share(plan.groups, part), reporter, metadata, rundir.metadata_name(part))


def _copy_source(spec, run_dir: Path) -> str | None:
    """Copy the source file of a user problem's module (``[problem] name = "module:factory"``) into the run
    directory as ``problem_source/FILE``, so the run records the code it ran; returns the copy's name."""
    import importlib.util
    import shutil

    name = getattr((spec if isinstance(spec, Config) else spec.base).problem, "name", "")
    if ":" not in name:
        return None
    found = importlib.util.find_spec(name.partition(":")[0])
    if found is None or not found.origin or not Path(found.origin).is_file():
        return None
    (run_dir / "problem_source").mkdir(exist_ok=True)
    copy = run_dir / "problem_source" / Path(found.origin).name
    shutil.copyfile(found.origin, copy)
    return str(copy.relative_to(run_dir))


def resume(run_dir, *, reporter=None, force: bool = False, part=None) -> RunStatus:
    """Continue an interrupted run or sweep (or part I of K of a sweep, ``part=(I, K)``) from its checkpoints.

    Metrics rows written after a checkpoint (a run killed between two checkpoints) are
    dropped first, so the run ends as if never interrupted. Everything is checked before
    anything is written: a refused resume leaves the directory as it was. Without ``part``,
    a sweep filled by parts continues every unfinished group.

    Raises:
      ConfigError: ``run_dir`` is not a run, is already complete, has a damaged file, or its
        config.toml was edited since (or another mfbd version wrote it), naming what changed.
    """
    plain = not (Path(run_dir) / rundir.INDEX).is_file()
    files = (CONFIG, METADATA) if plain else (CONFIG, rundir.INDEX)
    run_dir = rundir.require(run_dir, files, f"--resume {run_dir}")
    if plain and part is not None:
        raise ConfigError(f"--part shares out the groups of a sweep; {run_dir} is a plain run")
    name = rundir.metadata_name(part)
    spec = read(str(run_dir / CONFIG), force=True)
    metadata = rundir.read_metadata(run_dir, name)
    if plain != isinstance(spec, Config):
        raise ConfigError(f"{run_dir / CONFIG} was edited: it is now a {'sweep' if plain else 'plain config'}")
    if plain and not (run_dir / CHECKPOINT).is_file():
        if _computed(run_dir):
            raise ConfigError(f"--resume {run_dir}: not an mfbd run directory (no {CHECKPOINT})")
        shares, finished = {0: [0]}, False  # stopped before its first checkpoint: nothing to lose, start again
    elif plain:
        shares, checkpoint = {0: [0]}, Checkpoint.load(run_dir)
        done = max((s["step"] for s in checkpoint.status.values()), default=0)
        check_fingerprint(checkpoint.fingerprint, spec, done, run_dir, metadata.get("mfbd"))
        if set(checkpoint.status) != {name for name, _ in spec.arms}:
            raise ConfigError(f"{run_dir / CHECKPOINT} does not match the arms of {run_dir / CONFIG}; was it edited?")
        finished = all(s["status"] in ("complete", "failed") for s in checkpoint.status.values())
    else:
        written = [name] + [p.name for p in sorted(run_dir.glob("part-*-of-*.json"))]
        found = next((n for n in written if (run_dir / n).is_file()), None)
        if found is None:
            raise ConfigError(f"--resume {run_dir}: not an mfbd run directory (no {name})")
        stored = rundir.read_metadata(run_dir, found)
        check_fingerprint(stored.get("fingerprint"), spec, 0, run_dir, stored.get("mfbd"), found)
        _, index = rundir.read_index(run_dir)
        by_group: dict[int, list[int]] = {}
        for row in index:
            by_group.setdefault(row["group"], []).append(row["point"])
        shares = _share([by_group[g] for g in sorted(by_group)], part)
        unfinished = set(rundir.unfinished(run_dir))
        finished = not any(rundir.group_dir(run_dir, g).name in unfinished for g in shares)
        metadata = metadata or {k: v for k, v in stored.items() if k not in ("sessions", "groups", "end_time")}
    if finished:
        raise ConfigError(
            f"--resume {run_dir}: the run is already complete; redraw its figures with `mfbd plot {run_dir}` "
            f"or start a new run with `mfbd run {run_dir / CONFIG}`"
        )
    _plan.make(spec, force=force)
    validate(spec)
    paths = [path for path, _, _ in _groups(spec, shares, run_dir)]
    saved = {p: Checkpoint.load(p).status for p in paths if (p / CHECKPOINT).is_file()}

    def truncate():
        for path in paths:
            if path in saved:
                rundir.truncate_metrics(path, lambda arm, step, s=saved[path]: _kept(s, arm, step))
            elif (path / rundir.METRICS).is_file():
                (path / rundir.METRICS).unlink()  # stopped before its first checkpoint: start the run or group again

    return _session(run_dir, spec, shares, reporter, metadata, name, truncate)


def _computed(run_dir: Path) -> bool:
    """Whether a plain run directory's metrics.csv holds a row past step 0 (a step was computed)."""
    if not (run_dir / rundir.METRICS).is_file():
        return False
    with open(run_dir / rundir.METRICS, newline="") as f:
        return any(row.get("step") not in (None, "0") for row in csv.DictReader(f))


def _kept(status: dict, arm: str, step: int) -> bool:
    """A metrics row of ``arm`` at ``step`` is kept on resume when the checkpoint covers it."""
    s = status.get(arm, {"status": "pending"})
    return s["status"] in ("complete", "failed") or (s["status"] == "running" and step <= s["step"])


def start(config: Config, out: str | None = None, *, quiet: bool = True, plot: bool = False, reporter=None) -> int:
    """Deprecated alias (one release): ``run(config, out, reporter=reporter).code``.

    The runner no longer prints or draws: ``quiet`` is ignored, and for the
    figures call :func:`mfbd.plotting.plot_run` (or use the ``mfbd`` command).
    """
    del quiet
    if plot:
        raise ValueError("runner.start no longer draws: call mfbd.plotting.plot_run(run_dir) after runner.run")
    return run(config, out, reporter=reporter).code
