"""Running a sweep (:mod:`mfbd.sweep`): one compiled program per group and arm, vmapped over values × seeds.

Within a group, arm a has V distinct values of its swept :data:`~mfbd.sweep.TRACED`
fields; its batch is entry b = v·S + s for value v and seed s, and every
entry starts from seed s's particles and keys (:func:`mfbd.simulate.seed_keys`),
so a point of the sweep computes what ``mfbd run`` computes for that point's
config alone. The scheme is built inside the vmapped program from traced values
(``make_scheme`` on the arm with its swept fields replaced). A value whose
seeds go non-finite stops writing rows (its records up to the stop are kept,
as a run's); the other values of the batch go on.

Checkpoints, resume and Ctrl-C work per group as in :mod:`mfbd.runner`: a
resumed sweep ends bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import csv
import dataclasses
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from mfbd import rundir, sweep
from mfbd.config import ConfigError, make_observe, make_problem, make_scheme, validate
from mfbd.rundir import CHECKPOINT, CONFIG, METADATA, METRICS, Checkpoint
from mfbd.runner import RunStatus, _initial_fn, _particles_fn, arm_observe, arm_problem
from mfbd.simulate import run_chunk, seed_keys

__all__ = ["run", "resume"]


def _first_bad(trace: dict, state) -> np.ndarray:
    """Per batch entry, the index of the first record with a non-finite energy or state (R if none)."""
    bad = ~np.isfinite(trace["energy"])  # [B, R]
    records = bad.shape[1]
    first = np.where(bad.any(axis=1), bad.argmax(axis=1), records)
    for leaf in jax.tree_util.tree_leaves(state):
        leaf = np.asarray(leaf)
        if np.issubdtype(leaf.dtype, np.floating):
            broken = ~np.isfinite(leaf.reshape(leaf.shape[0], -1)).all(axis=1)
            first = np.where(broken, np.minimum(first, records - 1), first)
    return first


@dataclasses.dataclass
class _Arm:
    """One arm of a group: its swept fields, its distinct values and each point's value index."""

    name: str
    arm: object
    fields: tuple[str, ...]
    values: list[tuple]
    of_point: list[int]


class _Group:
    """One group of a sweep (the points sharing a program), in its sub-directory; build inside ``enable_x64``."""

    def __init__(self, path: Path, sw: sweep.Sweep, points: list[int], reporter):
        self.path, self.sweep, self.points, self.reporter = path, sw, points, reporter
        self.config = cfg = sw.configs[points[0]]
        self.seeds = cfg.run.seed_list
        self.keys = seed_keys(self.seeds)
        x64 = cfg.run.dtype == "float64"
        self.dtype = jnp.dtype(cfg.run.dtype)
        self.problem = make_problem(cfg.problem, cfg.run.n, x64)
        self.observe = make_observe(cfg.problem, cfg.run.n, x64)
        self.arms = []
        for name, arm in cfg.arms:
            fields = sw.traced(name)
            values, of_point = [], []
            for p in points:
                mine = dict(sw.configs[p].arms)[name]
                value = tuple(getattr(mine, f) for f in fields)
                if value not in values:
                    values.append(value)
                of_point.append(values.index(value))
            self.arms.append(_Arm(name, arm, fields, values, of_point))
        key_data = np.asarray(jax.random.key_data(self.keys[2]))
        if (path / CHECKPOINT).is_file():
            self.checkpoint = Checkpoint.load(path)
            if not np.array_equal(self.checkpoint.key_data, key_data):
                raise ConfigError(f"{path / CHECKPOINT} does not match the sweep's config.toml; was it edited?")
        else:
            status = {a.name: {"status": "pending", "step": 0, "failed": {}} for a in self.arms}
            self.checkpoint = Checkpoint(status, {}, key_data)
        self.programs: dict = {}
        self.current = None
        self.failures: list[str] = []

    def _batch(self, a: _Arm):
        """The arm's traced values per batch entry, ``{field: [V·S]}``, and the seed index of each entry."""
        seeds = len(self.seeds)
        params = {
            f: jnp.asarray(np.repeat([v[i] for v in a.values], seeds), jnp.int32 if f == "quench_last" else self.dtype)
            for i, f in enumerate(a.fields)
        }
        return params, np.tile(np.arange(seeds), len(a.values))

    def _build(self, a: _Arm, params):
        problem = arm_problem(self.problem, a.arm)
        return make_scheme.__wrapped__(problem, dataclasses.replace(a.arm, **params), self.config.run.steps)

    def _program(self, a: _Arm, records: int):
        key = (a.name, records)
        if key not in self.programs:
            every, observe = self.config.run.record_every, arm_observe(self.observe, self.problem, a.arm)

            def one(params, k, state):
                return run_chunk.__wrapped__(self._build(a, params), records, every, observe)(k, state)

            self.programs[key] = jax.jit(jax.vmap(one))
        return self.programs[key]

    def _init(self, a: _Arm, params, entry):
        particle_keys, init_keys, _ = self.keys
        particles = _particles_fn(self.problem, self.config.run.n, self.dtype)(particle_keys)
        particles = jax.tree_util.tree_map(lambda x: x[entry], particles)
        init = jax.jit(jax.vmap(lambda p, x, k: self._build(a, p).init(x, k)))
        return init(params, particles, init_keys[entry])

    def execute(self, writer: _Writer):
        for a in self.arms:
            if self.checkpoint.status[a.name]["status"] not in ("complete", "failed"):
                self._run_arm(a, writer)

    def _run_arm(self, a: _Arm, writer: _Writer):
        run, cfg = self.config.run, self.config
        status = self.checkpoint.status[a.name]
        params, entry = self._batch(a)
        failed = {int(v): s for v, s in status.get("failed", {}).items()}
        if status["status"] == "pending":
            state = self._init(a, params, entry)
            observe = arm_observe(self.observe, self.problem, a.arm)
            writer.write(self, a, jax.device_get(_initial_fn(observe)(state)), failed)
            self._save(a, 0, state, "running", failed)
        else:
            template = jax.eval_shape(lambda p: self._init(a, p, entry), params)
            saved = [jnp.asarray(x) for x in self.checkpoint.states[a.name]]
            state = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(template), saved)
        step = status["step"]
        run_keys = self.keys[2][entry]
        self.current = (a, step, state, failed)
        seeds = len(self.seeds)
        while step < run.steps:
            length = min(cfg.chunk, run.steps - step)
            new_state, trace = self._program(a, length // run.record_every)(params, run_keys, state)
            trace = jax.device_get(trace)
            first = _first_bad(trace, new_state).reshape(len(a.values), seeds).min(axis=1)
            upto = {}
            for v, r in enumerate(first):
                if v not in failed and r < trace["step"].shape[1]:
                    upto[v] = int(r) + 1
            writer.write(self, a, trace, failed, upto)
            for v, r in upto.items():
                failed[v] = int(trace["step"][v * seeds, r - 1])
                self.failures.append(self._message(a, v, failed[v]))
            state, step = new_state, step + length
            self.current = (a, step, state, failed)
            if len(failed) == len(a.values):
                self._save(a, status["step"], None, "failed", failed)
                return
            if step % cfg.checkpoint_every == 0 or step == run.steps:
                self._save(a, step, state, "complete" if step == run.steps else "running", failed)
            if self.reporter is not None:
                self.reporter(f"{self.path.name}/{a.name}", step, run.steps)

    def _message(self, a: _Arm, v: int, step: int) -> str:
        points = [self.points[i] for i, w in enumerate(a.of_point) if w == v]
        where = sweep.describe(self.sweep.keys, self.sweep.points[points[0]])
        return (
            f"arm '{a.name}' stopped at point {points[0]} ({where}): a seed has a non-finite energy or particles "
            f"by step {step}; its records up to there are kept, the other points go on"
        )

    def _save(self, a: _Arm, step, state, status, failed, snapshot=True):
        entry = {"status": status, "step": step, "failed": {str(v): s for v, s in failed.items()}}
        if state is None:  # every value failed: keep the last checkpointed state
            self.checkpoint.status[a.name] = entry | {"step": self.checkpoint.status[a.name]["step"]}
        else:
            if snapshot:
                seeds = np.tile(np.asarray(self.seeds), len(a.values))
                rundir.write_snapshot(self.path, a.name, step, seeds, state)
            self.checkpoint.put(a.name, state, entry)
        self.checkpoint.save(self.path)

    def interrupt(self):
        """Checkpoint the state after the last chunk written (Ctrl-C), as :meth:`mfbd.runner._Session.interrupt`."""
        if self.current is None:
            return
        a, step, state, failed = self.current
        if self.checkpoint.status[a.name]["status"] == "failed":
            return
        steps = self.config.run.steps
        snapshot = step % self.config.checkpoint_every == 0 or step == steps
        self._save(a, step, state, "complete" if step == steps else "running", failed, snapshot)

    def done(self) -> bool:
        return all(s["status"] in ("complete", "failed") for s in self.checkpoint.status.values())


class _Writer:
    """Appends a group's rows to its metrics.csv: ``point``, the swept values, ``arm``, ``seed``, the record."""

    def __init__(self, path: Path, keys):
        self.path, self.keys = path, keys
        self.file = open(path, "a", newline="")  # noqa: SIM115 (closed by close())
        self.writer = csv.writer(self.file)
        self.empty = path.stat().st_size == 0

    def write(self, group: _Group, a: _Arm, trace: dict, failed: dict, upto: dict | None = None):
        columns = rundir._columns(trace)
        if self.empty:
            self.writer.writerow(["point", *self.keys, "arm", "seed", *columns])
            self.empty = False
        seeds, upto = len(group.seeds), upto or {}
        records = trace["step"].shape[1]
        for p, v in zip(group.points, a.of_point, strict=True):
            if v in failed:
                continue
            values = [sweep.cell(x) for x in group.sweep.points[p]]
            for s, seed in enumerate(group.seeds):
                b = v * seeds + s
                for r in range(upto.get(v, records)):
                    self.writer.writerow([p, *values, a.name, seed, *(rundir._format(trace[c][b, r]) for c in columns)])
        self.file.flush()

    def close(self):
        self.file.close()


def _write_index(run_dir: Path, sw: sweep.Sweep, groups):
    rows = [["point", "group", *sw.keys]]
    for g, members in enumerate(groups):
        rows += [[p, g, *(sweep.cell(x) for x in sw.points[p])] for p in members]
    lines = [",".join(str(c) for c in row) for row in rows]
    rundir.atomic_write(run_dir / sweep.INDEX, lambda f: f.write(("\n".join(lines) + "\n").encode()))


def _session(run_dir: Path, sw: sweep.Sweep, groups, reporter, metadata: dict) -> RunStatus:
    entry = {"start": rundir.now(), "end": None, "status": "running", "argv": sys.argv}
    metadata.setdefault("sessions", []).append(entry)
    rundir.write_json(run_dir / METADATA, metadata)
    t0, interrupted, failures, status = time.perf_counter(), False, [], {}
    for g, members in enumerate(groups):
        path = sweep.group_dir(run_dir, g)
        path.mkdir(exist_ok=True)
        (path / rundir.SNAPSHOTS).mkdir(exist_ok=True)
        cfg = sw.configs[members[0]]
        with jax.enable_x64(cfg.run.dtype == "float64"):
            group = _Group(path, sw, members, reporter)
            if not group.done() and not interrupted:
                writer = _Writer(path / METRICS, sw.keys)
                try:
                    group.execute(writer)
                except KeyboardInterrupt:
                    group.interrupt()
                    interrupted = True
                finally:
                    writer.close()
        failures += group.failures
        status.update({f"{path.name}/{name}": dict(s) for name, s in group.checkpoint.status.items()})
    finished = all(s["status"] in ("complete", "failed") for s in status.values())
    entry.update(end=rundir.now(), wall_s=round(time.perf_counter() - t0, 3))
    entry["status"] = "finished" if finished else "interrupted"
    metadata["groups"] = status
    if finished:
        metadata["end_time"] = entry["end"]
    rundir.write_json(run_dir / METADATA, metadata)
    return RunStatus(run_dir, status, tuple(failures), interrupted)


def run(sw: sweep.Sweep, out: str | None = None, *, reporter=None, memory: int | None = None, notes=None):
    """Run a sweep into a new run directory (layout: :mod:`mfbd.sweep`); returns the :class:`~mfbd.runner.RunStatus`.

    ``memory`` is the byte budget of one program (default :func:`mfbd.sweep.memory_budget`);
    the lines saying how groups were split are appended to ``notes`` (a list) if given.
    """
    validate(sw)
    groups, lines = sweep.plan(sw, memory)
    if notes is not None:
        notes += lines
    run_dir = rundir.new_run_dir(sw.base, out)
    (run_dir / METRICS).unlink()
    (run_dir / rundir.SNAPSHOTS).rmdir()
    (run_dir / CONFIG).write_text(sweep.dumps(sw), encoding="utf-8")
    _write_index(run_dir, sw, groups)
    metadata = {
        "config": sw.base.name,
        **rundir.versions(),
        "sweep": {"keys": list(sw.keys), "mode": sw.mode, "points": len(sw.points), "groups": len(groups)},
        "plan": lines,
        "start_time": rundir.now(),
        "end_time": None,
    }
    return _session(run_dir, sw, groups, reporter, metadata)


def resume(run_dir, *, reporter=None) -> RunStatus:
    """Continue an interrupted sweep: finished groups are skipped, the others continue from their checkpoints."""
    run_dir = rundir.require(run_dir, (CONFIG, METADATA, sweep.INDEX), f"--resume {run_dir}")
    sw = sweep.load(str(run_dir / CONFIG), force=True)
    _, index = sweep.read_index(run_dir)
    groups: dict[int, list[int]] = {}
    for row in index:
        groups.setdefault(row["group"], []).append(row["point"])
    groups = [groups[g] for g in sorted(groups)]
    metadata = rundir.read_metadata(run_dir)
    status = metadata.get("groups", {})
    if status and all(s["status"] in ("complete", "failed") for s in status.values()):
        raise ConfigError(f"--resume {run_dir}: the sweep is already complete; redraw it with `mfbd plot {run_dir}`")
    for g in range(len(groups)):
        path = sweep.group_dir(run_dir, g)
        if (path / CHECKPOINT).is_file():
            saved = Checkpoint.load(path).status

            def keep(arm, step, saved=saved):
                s = saved.get(arm, {"status": "pending"})
                return s["status"] in ("complete", "failed") or (s["status"] == "running" and step <= s["step"])

            rundir.truncate_metrics(path, keep)
        elif (path / METRICS).is_file():
            (path / METRICS).unlink()  # killed before its first checkpoint: start the group again
    return _session(run_dir, sw, groups, reporter, metadata)


# --- the command line (hooked into mfbd.cli) ----------------------------------------------------------------------


def _report(status: RunStatus, quiet: bool, notes=()) -> int:
    """Failures, Ctrl-C, the sweep figure and table, the run directory; the exit code."""
    from mfbd.plotting_sweep import plot_sweep

    for line in (*notes, *(f"mfbd: {m}" for m in status.failures)):
        print(line, file=sys.stderr)
    if status.interrupted:
        print(
            f"mfbd: interrupted; checkpoint written. Continue with: mfbd run --resume {status.run_dir}", file=sys.stderr
        )
        return status.code
    paths = plot_sweep(status.run_dir)
    if not quiet:
        print(f"run directory: {status.run_dir}  (sweep table and figure: {', '.join(p.name for p in paths)})")
    return status.code


def _close(reporter):
    if hasattr(reporter, "close"):  # mfbd.cli.ProgressBar
        reporter.close()


def main_run(source, sets=(), out=None, *, quiet=False, force=False, reporter=None, memory=None) -> int:
    """``mfbd run CONFIG`` for a sweep (a :class:`~mfbd.sweep.Sweep` or a config to load with ``sets``)."""
    sw = source if isinstance(source, sweep.Sweep) else sweep.load(source, sets, force=force)
    notes: list[str] = []
    try:
        status = run(sw, out, reporter=reporter, memory=memory, notes=notes)
    finally:
        _close(reporter)
    return _report(status, quiet, notes)


def main_resume(run_dir, *, quiet=False, reporter=None) -> int:
    """``mfbd run --resume DIR`` for a sweep run directory."""
    try:
        status = resume(run_dir, reporter=reporter)
    finally:
        _close(reporter)
    return _report(status, quiet)
