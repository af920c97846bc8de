"""The one loop: a group of points (a plain run is a group of one point) runs arm by arm, chunk by chunk.

Within a group, arm a has V distinct values of its swept
:data:`~mfbd.config.sweep.TRACED` fields (a plain run, or an arm with none swept: V = 1);
its batch is entry b = v·S + s for value v and seed s, and every entry starts from
seed s's particles and keys (:func:`mfbd.simulate.seed_keys`), so a point of a sweep
computes what ``mfbd run`` computes for that point's config alone. An arm with
nothing traced runs the cached program of its scheme (:func:`mfbd.simulate.run_chunk`
with ``seeds=True``); an arm with traced values builds its scheme inside the vmapped
program (``make_scheme`` on the arm with its swept fields replaced by tracers).

Step k uses ``fold_in(run_key, k)`` and chunks start at multiples of ``chunk``, so a
group resumed from its checkpoint repeats exactly the computation of an uninterrupted
one. A value whose seeds go non-finite stops writing rows (its records up to the stop
are kept, the step-0 record included); when every value of an arm has stopped, the arm
is ``failed`` and keeps its last checkpoint. Ctrl-C or SIGTERM (:class:`~mfbd.runner.signals.Sigint`) checkpoints the
state after the last chunk written.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from mfbd.config.adaptive import is_adaptive
from mfbd.config.schema import Config, kind_of, make_observe, make_problem, make_scheme
from mfbd.config.sweep import Sweep, describe
from mfbd.config.toml import ConfigError
from mfbd.progress import Position, Reporter
from mfbd.runner import adaptive as _adaptive
from mfbd.runner._io import CHECKPOINT, CONFIG, METRICS
from mfbd.runner.batching import in_calls, values_per_call
from mfbd.runner.checkpoint import Checkpoint, fingerprint
from mfbd.runner.records import MetricsWriter, cell, write_snapshot
from mfbd.runner.signals import Sigint
from mfbd.runner.watch import Watch
from mfbd.simulate import draw_ensemble, init_ensemble, initial_record, run_chunk, seed_keys

__all__ = ["Group", "Sigint", "arm_problem", "arm_observe"]


@functools.lru_cache(maxsize=32)
def _initial_fn(observe):
    """The step-0 record of every batch entry, ``{column: [B, 1]}``."""
    return jax.jit(jax.vmap(lambda state: jax.tree_util.tree_map(lambda a: a[None], initial_record(state, observe))))


def arm_problem(problem, arm, section):
    """The problem an arm's scheme runs on: the kind of the problem config ``section`` decides (a gradient_flow
    arm of a sampling problem uses its ``transport_only`` oracle)."""
    return kind_of(section).arm_problem(problem, arm)


def arm_observe(observe, problem, arm, section):
    """The observer of one arm, as the kind of the problem config ``section`` decides (an arm run on
    ``transport_only`` records E_h of ``problem`` itself, :func:`~mfbd.config.sampling.with_energy`)."""
    return kind_of(section).arm_observe(observe, problem, arm)


def first_bad(trace: dict, state) -> np.ndarray:
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


class Group:
    """The points of ``spec`` sharing one program per arm, in ``path`` (a run's directory, or a sweep's
    ``group-NNN``); build and execute it inside ``enable_x64`` of its dtype. Checks its checkpoint
    against the config when built, before anything is written."""

    def __init__(self, path: Path, spec: Config | Sweep, points: list[int], reporter, sigint: Sigint):
        self.path, self.points, self.sigint = Path(path), points, sigint
        self.reporter = reporter if isinstance(reporter, Reporter) else Reporter(reporter)
        self.tally, self.where = None, (1, 1)  # the session's arm-steps and this group's place (runner._tally)
        self.plain = isinstance(spec, Config)
        self.configs = (spec,) if self.plain else spec.configs
        self.keys, self.point_values = ((), ((),)) if self.plain else (spec.keys, spec.points)
        self.config = cfg = self.configs[points[0]]
        self.seeds = cfg.run.seed_list
        self.run_keys = seed_keys(self.seeds)[2]
        x64 = cfg.run.dtype == "float64"
        self.dtype = jnp.dtype(cfg.run.dtype)
        self.problem = make_problem(cfg.problem, cfg.run.n, x64)
        self.observe = make_observe(cfg.problem, cfg.run.n, x64)
        self.arms = []
        for name, arm in cfg.arms:
            fields = () if self.plain else spec.traced(name)
            values, of_point = [], []
            for p in points:
                value = tuple(getattr(dict(self.configs[p].arms)[name], f) for f in fields)
                if value not in values:
                    values.append(value)
                of_point.append(values.index(value))
            if fields and any(is_adaptive(dict(self.configs[p].arms)[name]) for p in points):
                raise ConfigError(f'arms.{name}: a dt = "adaptive" arm cannot be swept over {", ".join(fields)}')
            self.arms.append(_Arm(name, arm, fields, values, of_point))
        self.programs: dict = {}
        self.current = None  # (arm, step, state, failed, cost) after the last chunk written
        self.failures: list[str] = []
        self.kind = kind_of(cfg.problem)
        self.watch = Watch(self.kind.watch_rise)
        self.wall: dict[str, float] = {}
        self.cost: dict[str, tuple[np.ndarray, float, float]] = {}  # per arm: passes [B], wall (s), its clock
        self.checkpoint = self._checkpoint(spec)

    def _checkpoint(self, spec) -> Checkpoint:
        key_data = np.asarray(jax.random.key_data(self.run_keys))
        if not (self.path / CHECKPOINT).is_file():
            extra = {} if self.plain else {"failed": {}}
            pending = {a.name: {"status": "pending", "step": 0, **extra} for a in self.arms}
            return Checkpoint(pending, {}, key_data, fingerprint(spec))
        checkpoint = Checkpoint.load(self.path)
        mismatch = not np.array_equal(checkpoint.key_data, key_data) or set(checkpoint.status) != {
            a.name for a in self.arms
        }
        mismatch = mismatch or any(
            [x.shape for x in saved] != [x.shape for x in jax.tree_util.tree_leaves(self._template(a))]
            for a in self.arms
            if (saved := checkpoint.states.get(a.name)) is not None
        )
        mismatch |= any(s["status"] == "running" and n not in checkpoint.states for n, s in checkpoint.status.items())
        if mismatch:
            config = (self.path if self.plain else self.path.parent) / CONFIG
            raise ConfigError(f"{self.path / CHECKPOINT} does not match {config}; was it edited?")
        return checkpoint

    # --- building the batch ---

    def _batch(self, a: _Arm):
        """The arm's traced values per batch entry, ``{field: [V·S]}``, and the seed index of each entry."""
        seeds = len(self.seeds)
        params = {
            f: jnp.asarray(np.repeat([v[i] for v in a.values], seeds), jnp.int32 if f == "quench_last" else self.dtype)
            for i, f in enumerate(a.fields)
        }
        return params, np.tile(np.arange(seeds), len(a.values))

    def _scheme(self, a: _Arm, params=None):
        """The arm's scheme: cached when nothing is traced, else built from the traced ``params``."""
        problem, steps = arm_problem(self.problem, a.arm, self.config.problem), self.config.run.steps
        if not a.fields:
            return make_scheme(problem, a.arm, steps)
        return make_scheme.__wrapped__(problem, dataclasses.replace(a.arm, **params), steps)

    def _observer(self, a: _Arm):
        return arm_observe(self.observe, self.problem, a.arm, self.config.problem)

    def _program(self, a: _Arm, records: int, step: int = 0):
        every = self.config.run.record_every
        if is_adaptive(a.arm):
            args = (a.arm, self.config.run.steps, step, records, every, self.dtype)
            return _adaptive.program(self._scheme(a), self._observer(a), *args)
        if not a.fields:
            chunk = run_chunk(self._scheme(a), records, every, self._observer(a), seeds=True)
            return lambda params, keys, state: chunk(keys, state)
        key = (a.name, records)
        if key not in self.programs:

            def one(params, k, state):
                return run_chunk.__wrapped__(self._scheme(a, params), records, every, self._observer(a))(k, state)

            calls = len(a.values) // values_per_call(self.config, len(a.values))
            self.programs[key] = jax.jit(in_calls(jax.vmap(one), calls))
        return self.programs[key]

    def _init(self, a: _Arm, params, entry):
        """The arm's start, seeded as :func:`mfbd.simulate.init_ensemble` (the one seeding)."""
        n = self.config.run.n
        if not a.fields:  # the batch is the seeds
            return init_ensemble(self._scheme(a), self.problem, n, self.seeds, self.dtype)[0]
        particles, init_keys, _ = draw_ensemble(self.problem, n, self.seeds, self.dtype)
        particles = jax.tree_util.tree_map(lambda x: x[entry], particles)
        init = jax.jit(jax.vmap(lambda p, x, k: self._scheme(a, p).init(x, k)))
        return init(params, particles, init_keys[entry])

    def _template(self, a: _Arm):
        """Shapes and tree structure of an arm's batched state."""
        params, entry = self._batch(a)
        return jax.eval_shape(lambda p: self._init(a, p, entry), params)

    def _place(self, state):
        """Shard the particles over the devices (run.shard)."""
        if not self.config.run.shard:
            return state
        from mfbd.sharding import shard_state

        return shard_state(state, particle_axis=1)

    # --- running ---

    def done(self) -> bool:
        return all(s["status"] in ("complete", "failed") for s in self.checkpoint.status.values())

    def execute(self):
        """Run every unfinished arm, appending to the group's metrics.csv."""
        prefix = () if self.plain else ("point", *self.keys)
        with MetricsWriter(self.path / METRICS, prefix) as writer:
            for a in self.arms:
                if self.checkpoint.status[a.name]["status"] in ("complete", "failed"):
                    continue
                t0 = time.perf_counter()
                try:
                    self._run_arm(a, writer)
                finally:
                    self.wall[a.name] = self.wall.get(a.name, 0.0) + time.perf_counter() - t0

    def _add_cost(self, a: _Arm, trace: dict):
        """Add the cost columns to a chunk's trace: ``passes``, the running sum of ``oracle_passes`` (init's pass
        included); ``grad_evals`` and ``kernel_evals``, ``passes`` × the problem kind's ``pass_cost`` (sampling);
        ``wall``, the arm's seconds of run time since its start (resumes included), at the end of the chunk for
        its last record and linearly interpolated for the others (one compiled call has no clock)."""
        _adaptive.fill(trace, [arm for _, arm in self.config.arms], a.arm, self._entry_dt(a))
        passes, wall, clock = self.cost[a.name]
        now = time.perf_counter()
        end = wall + now - clock
        trace["passes"] = passes[:, None] + np.cumsum(np.asarray(trace["oracle_passes"], np.int64), axis=1)
        records = trace["passes"].shape[1]
        ramp = wall + (end - wall) * np.arange(1, records + 1) / records
        trace["wall"] = np.broadcast_to(ramp, trace["passes"].shape)
        self.cost[a.name] = (trace["passes"][:, -1].copy(), end, now)
        if (per_pass := self.kind.pass_cost(self.problem, a.arm, self.config.run.n)) is not None:
            trace["grad_evals"] = trace["passes"] * per_pass.grad_evals
            trace["kernel_evals"] = trace["passes"] * per_pass.kernel_evals

    def _write(self, writer, a: _Arm, trace: dict, failed: dict, upto: dict | None = None):
        """Append the chunk's rows (with the cost columns) to metrics.csv and hand them to the reporter."""
        self._add_cost(a, trace)
        seeds, upto, rows = len(self.seeds), upto or {}, []
        if self.plain:
            if 0 not in failed or 0 in upto:
                rows += writer.write(a.name, self.seeds, trace, upto.get(0))
        else:
            for p, v in zip(self.points, a.of_point, strict=True):
                if v not in failed or v in upto:
                    prefix = [p, *(cell(x) for x in self.point_values[p])]
                    rows += writer.write(a.name, self.seeds, trace, upto.get(v), prefix=prefix, first=v * seeds)
        if rows:
            self.reporter.rows(rows)

    def _stopped(self, a: _Arm, trace: dict, state, failed: dict) -> dict:
        """Mark the values that went non-finite in ``trace``; returns ``{value: records to keep}``."""
        seeds = len(self.seeds)
        first = first_bad(trace, state).reshape(len(a.values), seeds)
        upto = {}
        for v, row in enumerate(first):
            if v not in failed and row.min() < trace["step"].shape[1]:
                s, r = int(row.argmin()), int(row.min())
                upto[v] = r + 1
                failed[v] = int(trace["step"][v * seeds + s, r])
                self.failures.append(self._message(a, v, s, failed[v]))
        return upto

    def _message(self, a: _Arm, v: int, s: int, step: int) -> str:
        what = f"seed {self.seeds[s]} has a non-finite energy or particles"
        when = "at step 0 (its initial particles or energy; check the problem's initial distribution)"
        if step and is_adaptive(a.arm):
            when = _adaptive.message(step)
        elif step:
            dt = a.values[v][a.fields.index("dt")] if "dt" in a.fields else a.arm.dt
            when = f"by step {step} (t = {step * dt:g}); dt too large? "
            when += f"(dt = {dt:g}; also check alpha and the optimizer's lr)"
        if self.plain:
            kept = self.checkpoint.status[a.name]["step"]
            return (
                f"arm '{a.name}' stopped: {what} {when}. Its checkpoint at step {kept} and its metrics are kept; "
                "the other arms go on."
            )
        point = next(self.points[i] for i, w in enumerate(a.of_point) if w == v)
        where = describe(self.keys, self.point_values[point])
        return f"arm '{a.name}' stopped at point {point} ({where}): {what} {when}; its records up to there are kept"

    def _entry_dt(self, a: _Arm):  # a fixed arm's Δt per batch entry
        return np.repeat([v[a.fields.index("dt")] if "dt" in a.fields else a.arm.dt for v in a.values], len(self.seeds))

    def _name(self, a: _Arm) -> str:  # as the reporter and the status name it
        return a.name if self.plain else f"{self.path.name}/{a.name}"

    def _entry(self, a: _Arm, b: int) -> str:  # batch entry b of arm a in words: its seed (and point)
        v, s = divmod(b, len(self.seeds))
        return f"({'' if self.plain else f'point {self.points[a.of_point.index(v)]}, '}seed {self.seeds[s]})"

    def _run_arm(self, a: _Arm, writer):
        run, cfg = self.config.run, self.config
        status = self.checkpoint.status[a.name]
        params, entry = self._batch(a)
        failed = {int(v): s for v, s in status.get("failed", {}).items()}
        if status["status"] == "pending":
            self.cost[a.name] = (np.zeros(len(a.values) * len(self.seeds), np.int64), 0.0, time.perf_counter())
            state = self._place(self._init(a, params, entry))
            initial = _adaptive.initial_fn if is_adaptive(a.arm) else _initial_fn
            trace = jax.device_get(initial(self._observer(a))(state))
            self.watch.last[self._name(a)] = np.asarray(trace["energy"])[:, -1]
            upto = self._stopped(a, trace, state, failed)
            self._write(writer, a, trace, failed, upto)
            if len(failed) == len(a.values):
                self._save(a, 0, None, "failed", failed)
                self._report(a, run.steps, run.steps)
                return
            self._save(a, 0, state, "running", failed)
        else:  # running: continue from the checkpointed state
            treedef = jax.tree_util.tree_structure(self._template(a))
            saved = [jnp.asarray(x) for x in self.checkpoint.states[a.name]]
            cost = self.checkpoint.costs.get(a.name, {"passes": [0] * (len(a.values) * len(self.seeds)), "wall": 0.0})
            self.cost[a.name] = (np.asarray(cost["passes"], np.int64), float(cost["wall"]), time.perf_counter())
            state = self._place(jax.tree_util.tree_unflatten(treedef, saved))
        step = status["step"]
        run_keys = self.run_keys if len(a.values) == 1 else self.run_keys[entry]
        self.current = (a, step, state, failed, self.cost[a.name])
        while step < run.steps:
            length = min(cfg.chunk, run.steps - step)
            new_state, trace = self._program(a, length // run.record_every, step)(params, run_keys, state)
            trace = jax.device_get(trace)
            self.watch.check(self._name(a), trace, lambda b: self._entry(a, b))
            upto = self._stopped(a, trace, new_state, failed)
            self._write(writer, a, trace, failed, upto)
            if len(failed) == len(a.values):
                self._save(a, None, None, "failed", failed)
                self._report(a, run.steps, run.steps - step)  # its remaining steps count as done
                return
            state, step = new_state, step + length
            self.current = (a, step, state, failed, self.cost[a.name])
            if step % cfg.checkpoint_every == 0 or step == run.steps:
                self._save(a, step, state, "complete" if step == run.steps else "running", failed)
            self._report(a, step, length)
            self.sigint.check()

    def _report(self, a: _Arm, step: int, advanced: int):
        """Tell the reporter: the session's position (``advanced`` arm-steps more), then the arm's steps."""
        if self.tally is not None:
            self.tally.done += advanced
            k = self.arms.index(a) + 1
            self.reporter.overall(Position(*self.where, k, len(self.arms), self.tally.done, self.tally.total))
        self.reporter(self._name(a), step, self.config.run.steps)

    def _save(self, a: _Arm, step, state, status, failed, snapshot=True):
        """Checkpoint an arm (and snapshot its particles unless ``snapshot`` is False); ``state`` None: every
        value failed, so the arm keeps its last checkpointed state and step."""
        entry = {"status": status, "step": step}
        if a.name in self.cost:  # the cost columns' running values, so that a resumed run continues them
            passes, wall, _ = self.cost[a.name]
            self.checkpoint.costs[a.name] = {"passes": passes.tolist(), "wall": wall}
        if not self.plain:
            entry["failed"] = {str(v): s for v, s in failed.items()}
        if state is None:
            kept = self.checkpoint.status[a.name]
            entry.update(step=kept["step"], failed_at=min(failed.values()), message=self.failures[-1])
            if kept["status"] == "pending":
                entry["step"] = 0
            self.checkpoint.status[a.name] = entry
        else:
            if snapshot:
                write_snapshot(self.path, a.name, step, np.tile(np.asarray(self.seeds), len(a.values)), state)
            self.checkpoint.put(a.name, state, entry)
        self.checkpoint.save(self.path)

    def interrupt(self):
        """Checkpoint the state after the last chunk written (Ctrl-C).

        Written again even if a checkpoint of that step exists: Ctrl-C may have
        stopped its writing (an atomic write, so the old file is still whole).
        """
        if self.current is None:
            return
        a, step, state, failed, cost = self.current
        # Ctrl-C may land after a chunk's rows advanced the cost columns and before that chunk's state became
        # current: checkpoint the cost that goes with the state, so the resumed rows continue it.
        self.cost[a.name] = cost
        if self.checkpoint.status[a.name]["status"] == "failed":
            return
        steps = self.config.run.steps
        snapshot = step % self.config.checkpoint_every == 0 or step == steps  # snapshots stay at checkpoint steps
        self._save(a, step, state, "complete" if step == steps else "running", failed, snapshot)
