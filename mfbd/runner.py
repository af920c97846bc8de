"""The experiment runner: a config in, a run directory with numbers and figures out.

A run directory holds

* ``config.toml``: the fully resolved config (``mfbd run RUN_DIR/config.toml`` re-runs it);
* ``metadata.json``: versions, backend and devices, seeds, times, wall time per arm;
* ``metrics.csv``: one row per arm × seed × recorded step (step 0 included);
* ``snapshots/ARM-STEP.npz``: the particles of every seed at step 0 and at each checkpoint;
* ``checkpoint.npz``: per arm the batched :class:`mfbd.State`, its step and status;
* ``energy.png|pdf`` and ``particles.png|pdf``: the figures (:mod:`mfbd.plotting`).

Arms run one after the other, chunk by chunk; the seeds of an arm run together
as one vmapped, jitted program (``vmap`` of :func:`mfbd.simulate.run_chunk`).
Seed s draws its initial particles, the key of the initial oracle pass and
the run key from ``split(key(s), 3)``; every arm uses the same three, so the
arms start from the same particles and (in data mode) see the same batches.

Step k of a run uses ``fold_in(run_key, k)`` and chunks always start at
multiples of ``chunk``, so a run resumed from a checkpoint repeats exactly the
computation of an uninterrupted one: the results are bit-identical.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import functools
import io
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import mfbd
from mfbd.config import Config, ConfigError, dumps, load, make_observe, make_problem, make_scheme
from mfbd.simulate import run_chunk

__all__ = ["start", "resume", "read_metrics", "read_snapshots", "ProgressBar", "RUN_FILES"]

CONFIG, METADATA, METRICS, CHECKPOINT, SNAPSHOTS = (
    "config.toml",
    "metadata.json",
    "metrics.csv",
    "checkpoint.npz",
    "snapshots",
)
RUN_FILES = (CONFIG, METADATA, METRICS, CHECKPOINT)
RECORD = ("step", "time", "energy", "mean_potential", "killed", "born", "ess")
INTERRUPTED = 130

#: ``reporter(arm, steps_done, steps_total)``, called after every chunk (steps summed over the arms).
Reporter = Callable[[str, int, int], None]


# --- compiled pieces (cached: the schemes are cached per config, see mfbd.config) ------------------------------


@functools.lru_cache(maxsize=64)
def _chunk_fn(scheme, num_records, record_every, observe):
    return jax.jit(jax.vmap(run_chunk(scheme, num_records, record_every, observe)))


@functools.lru_cache(maxsize=64)
def _init_fn(scheme):
    return jax.jit(jax.vmap(scheme.init))


@functools.lru_cache(maxsize=32)
def _particles_fn(problem, n, dtype):
    def draw(key):
        return jax.tree_util.tree_map(lambda a: a.astype(dtype), problem.init_particles(key, n))

    return jax.jit(jax.vmap(draw))


@functools.lru_cache(maxsize=32)
def _initial_row_fn(observe):
    """The step-0 record of every seed, in the layout of :func:`mfbd.simulate.run_chunk`'s rows."""

    def row(state):
        w = jax.nn.softmax(state.log_weights)
        zero = jnp.zeros((), jnp.int32)
        record = {
            "step": state.step,
            "time": jnp.zeros_like(state.energy),
            "energy": state.energy,
            "mean_potential": jnp.dot(w, state.potential),
            "killed": zero,
            "born": zero,
            "ess": 1.0 / jnp.sum(w * w),
        }
        if observe is not None:
            record.update(observe(state))
        return jax.tree_util.tree_map(lambda a: a[None], record)

    return jax.jit(jax.vmap(row))


def _seed_keys(seeds):
    """``(particle_keys, init_keys, run_keys)``, each ``[S]``, from ``split(key(s), 3)``."""
    keys = jax.vmap(lambda s: jax.random.split(jax.random.key(s), 3))(jnp.asarray(seeds, jnp.uint32))
    return keys[:, 0], keys[:, 1], keys[:, 2]


# --- files --------------------------------------------------------------------------------------------------------


def _atomic_write(path: Path, write: Callable):
    """Write through a temporary file in the same folder, then rename over ``path``."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _write_json(path: Path, obj):
    _atomic_write(path, lambda f: f.write((json.dumps(obj, indent=2) + "\n").encode()))


def _host(tree) -> list[np.ndarray]:
    return [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(tree)]


def _format(value) -> str:
    """Exact text for a number: ints as ints, floats by their shortest round-trip repr."""
    return str(int(value)) if np.issubdtype(np.asarray(value).dtype, np.integer) else repr(float(value))


class _Metrics:
    """Appends rows to metrics.csv, one flush per chunk, so an interrupted run keeps them."""

    def __init__(self, path: Path):
        self.path = path
        self.file = open(path, "a", newline="")  # noqa: SIM115 (closed by close())
        self.writer = csv.writer(self.file)
        self.empty = path.stat().st_size == 0

    def write(self, arm: str, seeds, trace: dict, upto: int | None = None):
        """Rows of a trace ``{column: [S, R]}``, seed by seed, records ``[:upto]``."""
        columns = list(RECORD) + sorted(set(trace) - set(RECORD))
        if self.empty:
            self.writer.writerow(["arm", "seed", *columns])
            self.empty = False
        for s, seed in enumerate(seeds):
            for r in range(trace["step"].shape[1] if upto is None else upto):
                self.writer.writerow([arm, seed, *(_format(trace[c][s, r]) for c in columns)])
        self.file.flush()

    def close(self):
        self.file.close()


def read_metrics(run_dir) -> dict[str, dict[str, np.ndarray]]:
    """metrics.csv as ``{arm: {column: [S, R] array}}`` (rows grouped by seed, in step order)."""
    with open(Path(run_dir) / METRICS, newline="") as f:
        rows = list(csv.DictReader(f))
    out: dict[str, dict] = {}
    for arm in dict.fromkeys(row["arm"] for row in rows):
        mine = [row for row in rows if row["arm"] == arm]
        seeds = list(dict.fromkeys(int(row["seed"]) for row in mine))
        by_seed = [sorted((r for r in mine if int(r["seed"]) == s), key=lambda r: int(r["step"])) for s in seeds]
        length = min(len(b) for b in by_seed)
        columns = [c for c in mine[0] if c not in ("arm", "seed")]
        out[arm] = {c: np.array([[float(r[c]) for r in b[:length]] for b in by_seed]) for c in columns}
        out[arm]["seed"] = np.array(seeds)
    return out


def _truncate_metrics(path: Path, keep: Callable[[str, int], bool]):
    """Keep the rows ``keep(arm, step)`` allows: drop those written after the last checkpoint.

    A run killed while writing may leave a cut last line; it comes after the
    checkpoint, so it goes too.
    """
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return
    width = len(rows[0])
    kept = [rows[0]] + [row for row in rows[1:] if len(row) == width and row[2].isdigit() and keep(row[0], int(row[2]))]
    text = io.StringIO(newline="")
    csv.writer(text).writerows(kept)
    _atomic_write(path, lambda f: f.write(text.getvalue().encode()))


def _snapshot(run_dir: Path, arm: str, step: int, seeds, state):
    """Particles and log-weights of every seed at ``step``."""
    leaves = jax.tree_util.tree_flatten_with_path(state.particles)[0]
    arrays = {f"particles/{jax.tree_util.keystr(p, simple=True, separator='/')}": np.asarray(v) for p, v in leaves}
    arrays.update(step=np.asarray(step), seeds=np.asarray(seeds), log_weights=np.asarray(state.log_weights))
    _atomic_write(run_dir / SNAPSHOTS / f"{arm}-{step:08d}.npz", lambda f: np.savez(f, **arrays))


def read_snapshots(run_dir, arm: str) -> list[dict]:
    """The snapshots of an arm in step order: dicts with ``step``, ``seeds``, ``log_weights`` and ``particles``."""
    out = []
    for path in sorted((Path(run_dir) / SNAPSHOTS).glob(f"{arm}-*.npz")):
        with np.load(path) as z:
            particles = {k.split("/", 1)[1]: z[k] for k in z.files if k.startswith("particles/")}
            out.append(
                {"step": int(z["step"]), "seeds": z["seeds"], "log_weights": z["log_weights"], "particles": particles}
            )
    return out


def _git_commit() -> str | None:
    here = Path(mfbd.__file__).parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if commit.returncode:
        return None
    return commit.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def _now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def _versions() -> dict:
    import jaxlib

    return {
        "mfbd": mfbd.__version__,
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "git_commit": _git_commit(),
    }


# --- progress -----------------------------------------------------------------------------------------------------


class ProgressBar:
    """A one-line bar on a terminal: arm, steps done, steps/s and ETA (updated per chunk)."""

    def __init__(self, stream=sys.stderr, width: int = 28):
        self.stream, self.width = stream, width
        self.start: tuple[float, int] | None = None

    def __call__(self, arm: str, done: int, total: int):
        now = time.perf_counter()
        if self.start is None:
            self.start = (now, done)
            return
        t0, d0 = self.start
        rate = (done - d0) / max(now - t0, 1e-9)
        eta = (total - done) / rate if rate > 0 else float("inf")
        fill = round(self.width * done / total)
        eta_text = str(datetime.timedelta(seconds=round(eta))) if np.isfinite(eta) else "?"
        bar = "#" * fill + "-" * (self.width - fill)
        self.stream.write(f"\r{arm:>12} [{bar}] {done}/{total} steps  {rate:,.0f} steps/s  ETA {eta_text}  ")
        self.stream.flush()

    def close(self):
        if self.start is not None:
            self.stream.write("\n")
            self.stream.flush()


# --- the run loop -------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Checkpoint:
    """What checkpoint.npz holds: per arm its status, step and the host copy of its batched state."""

    status: dict[str, dict]
    states: dict[str, list[np.ndarray]]
    key_data: np.ndarray

    def save(self, run_dir: Path):
        arrays = {"progress": np.asarray(json.dumps(self.status)), "keys": self.key_data}
        for arm, leaves in self.states.items():
            arrays.update({f"{arm}/{i}": leaf for i, leaf in enumerate(leaves)})
        _atomic_write(run_dir / CHECKPOINT, lambda f: np.savez(f, **arrays))

    @classmethod
    def load(cls, run_dir: Path) -> _Checkpoint:
        with np.load(run_dir / CHECKPOINT) as z:
            status = json.loads(str(z["progress"]))
            states = {
                arm: [z[f"{arm}/{i}"] for i in range(sum(k.startswith(f"{arm}/") for k in z.files))] for arm in status
            }
            return cls(status, {a: s for a, s in states.items() if s}, z["keys"])


def _nonfinite(trace: dict, state) -> tuple[int, int] | None:
    """``(seed index, record index)`` of the first non-finite energy or state leaf, or None."""
    bad_energy = ~np.isfinite(trace["energy"])  # [S, R]
    bad_state = np.zeros(bad_energy.shape[0], bool)
    for leaf in _host(state):
        if np.issubdtype(leaf.dtype, np.floating):
            bad_state |= ~np.isfinite(leaf.reshape(leaf.shape[0], -1)).all(axis=1)
    if not bad_energy.any() and not bad_state.any():
        return None
    last = bad_energy.shape[1] - 1
    first = np.where(bad_energy.any(axis=1), bad_energy.argmax(axis=1), np.where(bad_state, last, last + 1))
    s = int(first.argmin())
    return s, int(first[s])


class _Run:
    """One session of a run (a fresh start or a resume) in ``run_dir``; build it inside ``enable_x64``."""

    def __init__(self, run_dir: Path, config: Config, checkpoint: _Checkpoint | None, reporter: Reporter | None):
        self.run_dir, self.config, self.reporter = run_dir, config, reporter
        self.seeds = config.run.seed_list
        self.particle_keys, self.init_keys, self.run_keys = _seed_keys(self.seeds)
        x64 = config.run.dtype == "float64"
        self.problem = make_problem(config.problem, config.run.n, x64)
        self.observe = make_observe(config.problem, config.run.n, x64)
        self.schemes = {name: make_scheme(self.problem, arm, config.run.steps) for name, arm in config.arms}
        key_data = np.asarray(jax.random.key_data(self.run_keys))
        if checkpoint is None:
            checkpoint = _Checkpoint({name: {"status": "pending", "step": 0} for name, _ in config.arms}, {}, key_data)
        mismatch = not np.array_equal(checkpoint.key_data, key_data) or any(
            [x.shape for x in saved] != [x.shape for x in jax.tree_util.tree_leaves(self._template(name))]
            for name, saved in checkpoint.states.items()
        )
        if mismatch:
            raise ConfigError(f"{run_dir / CHECKPOINT} does not match {run_dir / CONFIG}; was it edited?")
        self.checkpoint = checkpoint
        self.current: tuple[str, int, object] | None = None  # (arm, step, state) after the last chunk written
        self.failures: list[str] = []
        self.wall: dict[str, float] = {}

    def _particles(self):
        return _particles_fn(self.problem, self.config.run.n, jnp.dtype(self.config.run.dtype))

    def _template(self, name):
        """Shapes and tree structure of an arm's batched state."""
        particles = jax.eval_shape(self._particles(), self.particle_keys)
        return jax.eval_shape(_init_fn(self.schemes[name]), particles, self.init_keys)

    def _place(self, state):
        if not self.config.run.shard:
            return state
        from mfbd.sharding import shard_state

        return shard_state(state, particle_axis=1)

    def execute(self) -> int:
        """Run every unfinished arm; returns the exit code (0, or 1 if an arm failed)."""
        steps = self.config.run.steps
        total = steps * len(self.config.arms)
        done = sum(steps if s["status"] == "failed" else s["step"] for s in self.checkpoint.status.values())
        metrics = _Metrics(self.run_dir / METRICS)
        try:
            for name, arm in self.config.arms:
                if self.checkpoint.status[name]["status"] in ("complete", "failed"):
                    continue
                t0 = time.perf_counter()
                try:
                    done = self._run_arm(name, arm, metrics, done, total)
                finally:
                    self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - t0
        finally:
            metrics.close()
        return 1 if self.failures else 0

    def _run_arm(self, name, arm, metrics: _Metrics, done: int, total: int) -> int:
        run, config = self.config.run, self.config
        scheme = self.schemes[name]
        status = self.checkpoint.status[name]
        if status["status"] == "pending":
            state = _init_fn(scheme)(self._particles()(self.particle_keys), self.init_keys)
            state = self._place(state)
            metrics.write(name, self.seeds, jax.device_get(_initial_row_fn(self.observe)(state)))
            self._save(name, 0, state, "running")
        else:  # running: continue from the checkpointed state
            treedef = jax.tree_util.tree_structure(self._template(name))
            saved = [jnp.asarray(x) for x in self.checkpoint.states[name]]
            state = self._place(jax.tree_util.tree_unflatten(treedef, saved))
        step = status["step"]
        self.current = (name, step, state)
        while step < run.steps:
            length = min(config.chunk, run.steps - step)
            chunk = _chunk_fn(scheme, length // run.record_every, run.record_every, self.observe)
            new_state, trace = chunk(self.run_keys, state)
            trace = jax.device_get(trace)
            bad = _nonfinite(trace, new_state)
            if bad is not None:
                s, r = bad
                metrics.write(name, self.seeds, trace, upto=r + 1)
                self._fail(name, arm, s, int(trace["step"][s, r]))
                return done + run.steps - step
            metrics.write(name, self.seeds, trace)
            state, step = new_state, step + length
            self.current = (name, step, state)
            if step % config.checkpoint_every == 0 or step == run.steps:
                self._save(name, step, state, "complete" if step == run.steps else "running")
            done += length
            if self.reporter is not None:
                self.reporter(name, done, total)
        return done

    def _save(self, name, step, state, status, snapshot=True):
        if snapshot:
            _snapshot(self.run_dir, name, step, self.seeds, state)
        self.checkpoint.states[name] = _host(state)
        self.checkpoint.status[name] = {"status": status, "step": step}
        self.checkpoint.save(self.run_dir)

    def _fail(self, name, arm, s, step):
        kept = self.checkpoint.status[name]["step"]
        message = (
            f"arm '{name}' stopped: seed {self.seeds[s]} has a non-finite energy or particles by step {step} "
            f"(t = {step * arm.dt:g}); dt too large? (dt = {arm.dt:g}; also check alpha and the optimizer's lr). "
            f"Its checkpoint at step {kept} and its metrics are kept; the other arms go on."
        )
        self.failures.append(message)
        self.checkpoint.status[name] = {"status": "failed", "step": kept, "failed_at": step, "message": message}
        self.checkpoint.save(self.run_dir)
        print(f"mfbd: {message}", file=sys.stderr)

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


def _session(run_dir: Path, config: Config, checkpoint, reporter, quiet, plot, metadata: dict) -> int:
    """Run a session with its metadata, Ctrl-C handling and the closing figures."""
    with jax.enable_x64(config.run.dtype == "float64"):
        run = _Run(run_dir, config, checkpoint, reporter)  # checks a checkpoint before anything is written
        if checkpoint is None:
            run.checkpoint.save(run_dir)  # every arm pending: resumable from the first second
        session = {"start": _now(), "end": None, "status": "running", "argv": sys.argv}
        metadata.setdefault("sessions", []).append(session)
        _write_json(run_dir / METADATA, metadata)
        t0 = time.perf_counter()
        try:
            code = run.execute()
        except KeyboardInterrupt:
            run.interrupt()
            code = INTERRUPTED
        finally:
            if isinstance(reporter, ProgressBar):
                reporter.close()
            _close_session(run_dir, metadata, session, run, time.perf_counter() - t0)
    if code == INTERRUPTED:
        print(f"mfbd: interrupted; checkpoint written. Continue with: mfbd run --resume {run_dir}", file=sys.stderr)
        return code
    figures = []
    if plot:
        from mfbd.plotting import plot_run

        figures = plot_run(run_dir)
    if not quiet:
        _print_summary(run_dir, config, metadata, figures)
    return code


def _close_session(run_dir, metadata, session, run: _Run, wall):
    session.update(end=_now(), wall_s=round(wall, 3))
    arms = metadata.setdefault("arms", {})
    for name, status in run.checkpoint.status.items():
        entry = arms.setdefault(name, {"wall_s": 0.0})
        entry.update(status)
        entry["wall_s"] = round(entry["wall_s"] + run.wall.get(name, 0.0), 3)
    finished = all(s["status"] in ("complete", "failed") for s in run.checkpoint.status.values())
    session["status"] = "finished" if finished else "interrupted"
    if finished:
        metadata["end_time"] = session["end"]
    _write_json(run_dir / METADATA, metadata)


def _print_summary(run_dir, config, metadata, figures):
    metrics = read_metrics(run_dir)
    print(f"{'arm':<14}{'final energy (mean ± sd over seeds)':<40}{'wall s':>8}")
    for name, _ in config.arms:
        status = metadata["arms"][name]
        if status["status"] == "failed":
            result = f"non-finite by step {status['failed_at']}"
        else:
            final = metrics[name]["energy"][:, -1]
            result = f"{final.mean():.4e} ± {final.std():.1e}"
        print(f"{name:<14}{result:<40}{status['wall_s']:>8.1f}")
    drawn = f"  (figures: {', '.join(p.name for p in figures)})" if figures else ""
    print(f"run directory: {run_dir}{drawn}")


def _new_run_dir(config: Config, out: str | None) -> Path:
    """Create the run directory: ``out`` must be new (or an empty folder); never overwrite a run."""
    if out is None:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        path = Path("runs") / f"{config.name}-{stamp}"
        suffix = 1
        while path.exists():
            suffix += 1
            path = Path("runs") / f"{config.name}-{stamp}-{suffix}"
    else:
        path = Path(out)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise ConfigError(f"output directory {path} already exists and is not empty; choose a new --out")
    created = not path.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
        (path / SNAPSHOTS).mkdir()
        (path / CONFIG).write_text(dumps(config), encoding="utf-8")
    except OSError as e:
        if created and path.exists():
            for p in (path / CONFIG, path / SNAPSHOTS):
                if p.is_dir():
                    p.rmdir()
                elif p.exists():
                    p.unlink()
            path.rmdir()
        raise ConfigError(f"cannot write the output directory {path}: {e.strerror or e}") from None
    return path


def _check_devices(config: Config):
    if config.run.shard and config.run.n % jax.device_count():
        count = jax.device_count()
        raise ConfigError(f"run.shard: n = {config.run.n} must be a multiple of the {count} devices; set run.n")


def start(
    config: Config, out: str | None = None, *, quiet: bool = False, plot: bool = True, reporter: Reporter | None = None
) -> int:
    """Run ``config`` into a new run directory; returns the exit code.

    Args:
      config: a validated :class:`~mfbd.config.Config`.
      out: the run directory (must not exist, or be empty); default
        ``runs/<name>-<timestamp>``.
      quiet: no summary on stdout.
      plot: draw the figures at the end.
      reporter: called after every chunk (default: a progress bar when stderr
        is a terminal and not ``quiet``).

    Returns:
      0, 1 if an arm stopped on a non-finite value, 130 if interrupted.

    Raises:
      ConfigError: the output directory exists or cannot be written.
    """
    _check_devices(config)
    run_dir = _new_run_dir(config, out)
    (run_dir / METRICS).touch()
    metadata = {
        "config": config.name,
        **_versions(),
        "x64": config.run.dtype == "float64",
        "dtype": config.run.dtype,
        "seeds": list(config.run.seed_list),
        "start_time": _now(),
        "end_time": None,
    }
    return _session(run_dir, config, None, _reporter(reporter, quiet), quiet, plot, metadata)


def resume(run_dir, *, quiet: bool = False, plot: bool = True, reporter: Reporter | None = None) -> int:
    """Continue an interrupted run from its checkpoint; returns the exit code.

    Metrics rows written after the checkpoint (a run killed between two
    checkpoints) are dropped first, so the run ends as if never interrupted.

    Raises:
      ConfigError: ``run_dir`` is not a run, or is already complete.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError(f"--resume {run_dir}: no such directory")
    missing = [f for f in (CONFIG, CHECKPOINT, METADATA) if not (run_dir / f).is_file()]
    if missing:
        raise ConfigError(f"--resume {run_dir}: not an mfbd run directory (no {', '.join(missing)})")
    config = load(str(run_dir / CONFIG))
    checkpoint = _Checkpoint.load(run_dir)
    if set(checkpoint.status) != {name for name, _ in config.arms}:
        raise ConfigError(f"{run_dir / CHECKPOINT} does not match the arms of {run_dir / CONFIG}; was it edited?")
    if all(s["status"] in ("complete", "failed") for s in checkpoint.status.values()):
        raise ConfigError(
            f"--resume {run_dir}: the run is already complete; redraw its figures with `mfbd plot {run_dir}` "
            f"or start a new run with `mfbd run {run_dir / CONFIG}`"
        )
    _check_devices(config)
    status = checkpoint.status

    def keep(arm, step):
        s = status.get(arm, {"status": "pending"})
        return s["status"] in ("complete", "failed") or (s["status"] == "running" and step <= s["step"])

    _truncate_metrics(run_dir / METRICS, keep)
    metadata = json.loads((run_dir / METADATA).read_text())
    return _session(run_dir, config, checkpoint, _reporter(reporter, quiet), quiet, plot, metadata)


def _reporter(reporter, quiet):
    if reporter is not None:
        return reporter
    return ProgressBar() if (not quiet and sys.stderr.isatty()) else None
