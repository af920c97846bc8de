"""The experiment runner: a config in, a run directory (:mod:`mfbd.rundir`) with its numbers out.

Arms run one after the other, chunk by chunk; the seeds of an arm run together
as one vmapped, jitted program (:func:`mfbd.simulate.run_chunk` with
``seeds=True``). Seed s draws its initial particles, the key of the initial
oracle pass and the run key from ``split(key(s), 3)``
(:func:`mfbd.simulate.seed_keys`); every arm uses the same three, so the arms
start from the same particles and (in data mode) see the same batches.

Step k of a run uses ``fold_in(run_key, k)`` and chunks always start at
multiples of ``chunk``, so a run resumed from a checkpoint repeats exactly the
computation of an uninterrupted one: the results are bit-identical.

The runner neither prints nor draws: it returns a :class:`RunStatus` and
reports progress through a callback. The ``mfbd`` command (:mod:`mfbd.cli`)
adds the progress bar, the summary and the figures.
"""

from __future__ import annotations

import dataclasses
import functools
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from mfbd import _fingerprint, _memory, rundir
from mfbd.config import Config, ConfigError, GradientFlowArm, make_observe, make_problem, make_scheme, read, validate
from mfbd.config_sampling import with_energy
from mfbd.rundir import CHECKPOINT, CONFIG, METADATA, Checkpoint, MetricsWriter, read_metrics, read_snapshots
from mfbd.simulate import initial_record, run_chunk, seed_keys

__all__ = ["run", "resume", "start", "RunStatus", "Reporter", "read_metrics", "read_snapshots"]

INTERRUPTED = 130

#: ``reporter(arm, steps_done, steps_total)``, called after every chunk; the steps are the arm's own.
Reporter = Callable[[str, int, int], None]


@dataclasses.dataclass(frozen=True)
class RunStatus:
    """How a session of a run ended.

    Attributes:
      run_dir: the run directory.
      arms: per arm its status entry (``status``, ``step``; ``failed_at`` and
        ``message`` if it stopped on a non-finite value).
      failures: the messages of the arms that stopped in this session.
      interrupted: Ctrl-C stopped the session (a checkpoint was written).
    """

    run_dir: Path
    arms: dict[str, dict]
    failures: tuple[str, ...] = ()
    interrupted: bool = False

    @property
    def code(self) -> int:
        """The exit code: 0 done, 1 an arm failed, 130 interrupted."""
        return INTERRUPTED if self.interrupted else 1 if self.failures else 0


# --- compiled pieces (cached: the schemes are cached per config, see mfbd.config) ------------------------------


@functools.lru_cache(maxsize=64)
def _init_fn(scheme):
    return jax.jit(jax.vmap(scheme.init))


@functools.lru_cache(maxsize=32)
def _particles_fn(problem, n, dtype):
    def draw(key):
        return jax.tree_util.tree_map(lambda a: a.astype(dtype), problem.init_particles(key, n))

    return jax.jit(jax.vmap(draw))


class _Sigint:
    """Ctrl-C that is never lost: SIGINT raises KeyboardInterrupt as usual and is also remembered, so one
    whose KeyboardInterrupt is swallowed where it is raised (inside JAX's C++ or garbage-collector
    callbacks, jax-ml/jax#18246) still stops the session after the chunk in progress (:meth:`check`).
    Installed only over Python's default handler, in the main thread: a process started with SIGINT
    ignored (``nohup``, a background job) keeps ignoring it, and a caller's own handler is left alone."""

    def __init__(self):
        self.pending, self.previous = False, None

    def __enter__(self):
        main = threading.current_thread() is threading.main_thread()
        if main and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        self.pending = True
        raise KeyboardInterrupt

    def check(self):
        if self.pending:
            raise KeyboardInterrupt

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
            self.previous = None


def arm_problem(problem, arm):
    """The problem an arm's scheme runs on: a gradient_flow arm of a sampling problem uses the problem's
    ``transport_only`` oracle (pure Langevin never uses the O(n²) density estimate); others ``problem``."""
    return problem.extras.get("transport_only", problem) if type(arm) is GradientFlowArm else problem


def arm_observe(observe, problem, arm):
    """The observer of one arm: an arm run on ``transport_only`` (:func:`arm_problem`) records E_h of
    ``problem`` itself (:func:`~mfbd.config_sampling.with_energy`)."""
    return observe if arm_problem(problem, arm) is problem else with_energy(observe, problem)


@functools.lru_cache(maxsize=32)
def _initial_fn(observe):
    """The step-0 record of every seed, ``{column: [S, 1]}``."""
    return jax.jit(jax.vmap(lambda state: jax.tree_util.tree_map(lambda a: a[None], initial_record(state, observe))))


def _nonfinite(trace: dict, state) -> tuple[int, int] | None:
    """``(seed index, record index)`` of the first non-finite energy or state leaf, or None."""
    bad_energy = ~np.isfinite(trace["energy"])  # [S, R]
    bad_state = np.zeros(bad_energy.shape[0], bool)
    for leaf in jax.tree_util.tree_leaves(state):
        leaf = np.asarray(leaf)
        if np.issubdtype(leaf.dtype, np.floating):
            bad_state |= ~np.isfinite(leaf.reshape(leaf.shape[0], -1)).all(axis=1)
    if not bad_energy.any() and not bad_state.any():
        return None
    last = bad_energy.shape[1] - 1
    first = np.where(bad_energy.any(axis=1), bad_energy.argmax(axis=1), np.where(bad_state, last, last + 1))
    s = int(first.argmin())
    return s, int(first[s])


# --- the run loop -------------------------------------------------------------------------------------------------


class _Session:
    """One session of a run (a fresh start or a resume) in ``run_dir``; build it inside ``enable_x64``."""

    def __init__(self, run_dir: Path, config: Config, checkpoint: Checkpoint | None, reporter: Reporter | None):
        self.run_dir, self.config, self.reporter = run_dir, config, reporter
        self.seeds = config.run.seed_list
        self.particle_keys, self.init_keys, self.run_keys = seed_keys(self.seeds)
        x64 = config.run.dtype == "float64"
        self.problem = make_problem(config.problem, config.run.n, x64)
        self.observe = make_observe(config.problem, config.run.n, x64)
        steps = config.run.steps
        self.schemes = {name: make_scheme(arm_problem(self.problem, arm), arm, steps) for name, arm in config.arms}
        self.observers = {name: arm_observe(self.observe, self.problem, arm) for name, arm in config.arms}
        key_data = np.asarray(jax.random.key_data(self.run_keys))
        if checkpoint is None:
            pending = {name: {"status": "pending", "step": 0} for name, _ in config.arms}
            checkpoint = Checkpoint(pending, {}, key_data, _fingerprint.fingerprint(config))
        mismatch = not np.array_equal(checkpoint.key_data, key_data) or any(
            [x.shape for x in saved] != [x.shape for x in jax.tree_util.tree_leaves(self._template(name))]
            for name, saved in checkpoint.states.items()
        )
        mismatch |= any(s["status"] == "running" and n not in checkpoint.states for n, s in checkpoint.status.items())
        if mismatch:
            raise ConfigError(f"{run_dir / CHECKPOINT} does not match {run_dir / CONFIG}; was it edited?")
        self.checkpoint = checkpoint
        self.current: tuple[str, int, object] | None = None  # (arm, step, state) after the last chunk written
        self.sigint = _Sigint()
        self.failures: list[str] = []
        self.wall: dict[str, float] = {}

    def _particles(self):
        return _particles_fn(self.problem, self.config.run.n, jnp.dtype(self.config.run.dtype))

    def _template(self, name):
        """Shapes and tree structure of an arm's batched state."""
        particles = jax.eval_shape(self._particles(), self.particle_keys)
        return jax.eval_shape(_init_fn(self.schemes[name]), particles, self.init_keys)

    def _place(self, state):
        """Shard the particles over the devices (run.shard)."""
        if not self.config.run.shard:
            return state
        from mfbd.sharding import shard_state

        return shard_state(state, particle_axis=1)

    def execute(self):
        """Run every unfinished arm."""
        with MetricsWriter(self.run_dir / rundir.METRICS) as metrics:
            for name, arm in self.config.arms:
                if self.checkpoint.status[name]["status"] in ("complete", "failed"):
                    continue
                t0 = time.perf_counter()
                try:
                    self._run_arm(name, arm, metrics)
                finally:
                    self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - t0

    def _run_arm(self, name, arm, metrics: MetricsWriter):
        run, config = self.config.run, self.config
        scheme = self.schemes[name]
        status = self.checkpoint.status[name]
        if status["status"] == "pending":
            state = _init_fn(scheme)(self._particles()(self.particle_keys), self.init_keys)
            state = self._place(state)
            metrics.write(name, self.seeds, jax.device_get(_initial_fn(self.observers[name])(state)))
            self._save(name, 0, state, "running")
        else:  # running: continue from the checkpointed state
            treedef = jax.tree_util.tree_structure(self._template(name))
            saved = [jnp.asarray(x) for x in self.checkpoint.states[name]]
            state = self._place(jax.tree_util.tree_unflatten(treedef, saved))
        step = status["step"]
        self.current = (name, step, state)
        while step < run.steps:
            length = min(config.chunk, run.steps - step)
            chunk = run_chunk(scheme, length // run.record_every, run.record_every, self.observers[name], seeds=True)
            new_state, trace = chunk(self.run_keys, state)
            trace = jax.device_get(trace)
            bad = _nonfinite(trace, new_state)
            if bad is not None:
                s, r = bad
                metrics.write(name, self.seeds, trace, upto=r + 1)
                self._fail(name, arm, s, int(trace["step"][s, r]))
                return
            metrics.write(name, self.seeds, trace)
            state, step = new_state, step + length
            self.current = (name, step, state)
            if step % config.checkpoint_every == 0 or step == run.steps:
                self._save(name, step, state, "complete" if step == run.steps else "running")
            if self.reporter is not None:
                self.reporter(name, step, run.steps)
            self.sigint.check()

    def _save(self, name, step, state, status, snapshot=True):
        """Checkpoint an arm (and snapshot its particles unless ``snapshot`` is False)."""
        if snapshot:
            rundir.write_snapshot(self.run_dir, name, step, self.seeds, state)
        self.checkpoint.put(name, state, {"status": status, "step": step})
        self.checkpoint.save(self.run_dir)

    def _fail(self, name, arm, s, step):
        """Mark an arm failed at ``step`` (seed index ``s`` went non-finite), keeping its last checkpoint."""
        kept = self.checkpoint.status[name]["step"]
        message = (
            f"arm '{name}' stopped: seed {self.seeds[s]} has a non-finite energy or particles by step {step} "
            f"(t = {step * arm.dt:g}); dt too large? (dt = {arm.dt:g}; also check alpha and the optimizer's lr). "
            f"Its checkpoint at step {kept} and its metrics are kept; the other arms go on."
        )
        self.failures.append(message)
        self.checkpoint.status[name] = {"status": "failed", "step": kept, "failed_at": step, "message": message}
        self.checkpoint.save(self.run_dir)

    def interrupt(self):
        """Checkpoint the state after the last chunk written (Ctrl-C).

        Written again even if a checkpoint of that step exists: Ctrl-C may have
        stopped its writing (an atomic write, so the old file is still whole).
        """
        if self.current is None or self.checkpoint.status[self.current[0]]["status"] == "failed":
            return
        name, step, state = self.current
        steps = self.config.run.steps
        snapshot = step % self.config.checkpoint_every == 0 or step == steps  # snapshots stay at checkpoint steps
        self._save(name, step, state, "complete" if step == steps else "running", snapshot)

    def close(self, metadata: dict, entry: dict, wall: float):
        """Write the session's end, status and the arms' wall times into metadata.json."""
        entry.update(end=rundir.now(), wall_s=round(wall, 3))
        arms = metadata.setdefault("arms", {})
        for name, status in self.checkpoint.status.items():
            arm = arms.setdefault(name, {"wall_s": 0.0})
            arm.update(status)
            arm["wall_s"] = round(arm["wall_s"] + self.wall.get(name, 0.0), 3)
        finished = all(s["status"] in ("complete", "failed") for s in self.checkpoint.status.values())
        entry["status"] = "finished" if finished else "interrupted"
        if finished:
            metadata["end_time"] = entry["end"]
        rundir.write_json(self.run_dir / METADATA, metadata)


def _session(run_dir: Path, config: Config, checkpoint, reporter, metadata: dict, before=None) -> RunStatus:
    """Run a session with its metadata and Ctrl-C handling; ``before()`` runs once the checkpoint is checked."""
    with jax.enable_x64(config.run.dtype == "float64"):
        session = _Session(run_dir, config, checkpoint, reporter)  # checks a checkpoint before anything is written
        if before is not None:
            before()
        if checkpoint is None:
            session.checkpoint.save(run_dir)  # every arm pending: resumable from the first second
        entry = {"start": rundir.now(), "end": None, "status": "running", "argv": sys.argv}
        metadata.setdefault("sessions", []).append(entry)
        rundir.write_json(run_dir / METADATA, metadata)
        t0 = time.perf_counter()
        interrupted = False
        try:
            with session.sigint:
                session.execute()
        except KeyboardInterrupt:
            session.interrupt()
            interrupted = True
        finally:
            session.close(metadata, entry, time.perf_counter() - t0)
    arms = {name: dict(status) for name, status in session.checkpoint.status.items()}
    return RunStatus(run_dir, arms, tuple(session.failures), interrupted)


def _check_devices(config: Config):
    if config.run.shard and config.run.n % jax.device_count():
        count = jax.device_count()
        raise ConfigError(f"run.shard: n = {config.run.n} must be a multiple of the {count} devices; set run.n")


def run(config: Config, out: str | None = None, *, reporter: Reporter | None = None, force: bool = False) -> RunStatus:
    """Run ``config`` into a new run directory.

    Args:
      config: a validated :class:`~mfbd.config.Config`.
      out: the run directory (must not exist, or be empty); default
        ``runs/<name>-<timestamp>``.
      reporter: called after every chunk as ``reporter(arm, step, steps)``.
      force: run even if a chunk's memory estimate exceeds the device's (:mod:`mfbd._memory`).

    Returns:
      The :class:`RunStatus`; Ctrl-C writes a checkpoint and returns with
      ``interrupted=True`` (continue with :func:`resume`).

    Raises:
      ConfigError: the config does not re-read from its config.toml, a size is
        beyond the machine, or the output directory exists or cannot be written;
        nothing is written then.
    """
    _check_devices(config)
    _memory.check(config, force)  # before anything is built or written
    validate(config)
    run_dir = rundir.new_run_dir(config, out)  # re-reads the written config first
    metadata = {
        "config": config.name,
        **rundir.versions(),
        "x64": config.run.dtype == "float64",
        "dtype": config.run.dtype,
        "seeds": list(config.run.seed_list),
        "start_time": rundir.now(),
        "end_time": None,
    }
    return _session(run_dir, config, None, reporter, metadata)


def resume(run_dir, *, reporter: Reporter | None = None, force: bool = False) -> RunStatus:
    """Continue an interrupted run from its checkpoint.

    Metrics rows written after the checkpoint (a run killed between two
    checkpoints) are dropped first, so the run ends as if never interrupted.
    Everything is checked before anything is written: a refused resume leaves
    the directory as it was.

    Raises:
      ConfigError: ``run_dir`` is not a run, is already complete, has a damaged
        file, or its config.toml was edited since the checkpoint (or another
        mfbd version wrote it).
    """
    run_dir = rundir.require(run_dir, (CONFIG, CHECKPOINT, METADATA), f"--resume {run_dir}")
    config = read(str(run_dir / CONFIG))
    checkpoint = Checkpoint.load(run_dir)
    metadata = rundir.read_metadata(run_dir)
    done = max((s["step"] for s in checkpoint.status.values()), default=0)
    _fingerprint.check(checkpoint.fingerprint, config, done, run_dir, metadata.get("mfbd"))
    if set(checkpoint.status) != {name for name, _ in config.arms}:
        raise ConfigError(f"{run_dir / CHECKPOINT} does not match the arms of {run_dir / CONFIG}; was it edited?")
    if all(s["status"] in ("complete", "failed") for s in checkpoint.status.values()):
        raise ConfigError(
            f"--resume {run_dir}: the run is already complete; redraw its figures with `mfbd plot {run_dir}` "
            f"or start a new run with `mfbd run {run_dir / CONFIG}`"
        )
    _check_devices(config)
    _memory.check(config, force)
    validate(config)
    status = checkpoint.status

    def keep(arm, step):
        s = status.get(arm, {"status": "pending"})
        return s["status"] in ("complete", "failed") or (s["status"] == "running" and step <= s["step"])

    return _session(run_dir, config, checkpoint, reporter, metadata, lambda: rundir.truncate_metrics(run_dir, keep))


def start(config: Config, out: str | None = None, *, quiet: bool = True, plot: bool = False, reporter=None) -> int:
    """Deprecated alias (one release): ``run(config, out, reporter=reporter).code``.

    The runner no longer prints or draws: ``quiet`` is ignored, and for the
    figures call :func:`mfbd.plotting.plot_run` (or use the ``mfbd`` command).
    """
    del quiet
    if plot:
        raise ValueError("runner.start no longer draws: call mfbd.plotting.plot_run(run_dir) after runner.run")
    return run(config, out, reporter=reporter).code
