"""The bad-input battery (issue 11): every entry point, every kind of damage.

Each CLI case runs ``mfbd.cli.main`` in-process and asserts the exit code, exactly one
line ``mfbd: error: ...`` on stderr naming the problem, no traceback, and every watched
path (a run directory, or its absence) byte-identical before and after. API cases assert a
one-line ValueError/TypeError naming the argument. A few size cases run as children under a
memory limit. Classes: ``handled`` (typos, types, values, --set), ``unreadable`` (1),
``resume`` (2), ``before`` (3), ``sizes`` (4), ``names`` (5), ``api`` (6), ``schedules``
(issue 10's bad input), ``codes`` (exit codes 1 and 130).
"""

import hashlib
import json
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import optax
import pytest
from conftest import SMALL, without_wall

import mfbd
from mfbd import runner
from mfbd.cli import main, resume_run
from mfbd.config import ConfigError, dumps, load
from mfbd.runner import plan as _memory
from mfbd.runner import rundir

ROOT = Path(__file__).resolve().parents[1]

# --- helpers ------------------------------------------------------------------------------------------------------


def tree(path: Path):
    """Every file under ``path`` with its bytes' hash (None if ``path`` does not exist)."""
    path = Path(path)
    if not path.exists():
        return None
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(path.rglob("*"))
    }


def refused(capsys, argv, fragment, watch=(), code=2):
    """``main(argv)`` exits ``code`` with one error line containing ``fragment``; ``watch`` is untouched."""
    before = [tree(p) for p in watch]
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse's own exit, after its one line
        rc = e.code
    except BaseException as e:  # noqa: BLE001 (a traceback is the failure this battery looks for)
        pytest.fail(f"{argv} raised {type(e).__name__}: {e}")
    out, err = capsys.readouterr()
    assert rc == code, (rc, err)
    assert out == "" and "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mfbd: error: "), err
    assert fragment in lines[0], lines[0]
    assert [tree(p) for p in watch] == before, "a refused command changed the files"
    return lines[0]


def sets(*items):
    return [a for item in items for a in ("--set", item)]


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "small.toml"
    path.write_text(SMALL + "\n[arms.rw]\nscheme = 'reweighting'\ndt = 0.01\nalpha = 2.0\n")
    return path


TWO = sets("run.seeds=2", "run.chunk=10", "run.checkpoint_every=20")


@pytest.fixture(scope="module")
def runs(small_file, tmp_path_factory):
    """A complete run and one interrupted after its first checkpoint (step 20 of arm gd)."""
    base = tmp_path_factory.mktemp("runs")
    config = load(str(small_file), TWO[1::2])
    done = runner.run(config, str(base / "done"))
    assert done.code == 0

    def stop(arm, step, total):
        if step == 20:
            raise KeyboardInterrupt

    half = runner.run(config, str(base / "half"), reporter=stop)
    assert half.interrupted and half.arms["gd"]["step"] == 20
    return base / "done", base / "half"


@pytest.fixture
def done(runs, tmp_path):
    return Path(shutil.copytree(runs[0], tmp_path / "done"))


@pytest.fixture
def half(runs, tmp_path):
    return Path(shutil.copytree(runs[1], tmp_path / "half"))


# --- handled: typos with the nearest key, types, values, malformed --set ------------------------------------------

HANDLED = [
    (["run.stpes=40"], "unknown key 'run.stpes'; did you mean 'steps'?"),
    (["arms.gd.dtt=0.1"], "did you mean 'dt'?"),
    (["problme.name=x"], "unknown key 'problme'; did you mean 'problem'?"),
    (["arms.bd.quench_lats=5"], "did you mean 'quench_last'?"),
    (["run.n=16.5"], "run.n must be an integer, got a float 16.5"),
    (['run.n="16"'], "(write it without quotes)"),
    (["run.shard=1"], "run.shard must be a boolean"),
    (["arms.gd.dt=0"], "arms.gd.dt must be > 0"),
    (["arms.gd.noise=-1"], "arms.gd.noise must be ≥ 0"),
    (["arms.bd.alpha=-2"], "alpha must be ≥ 0"),
    (["arms.rw.resample_below=2"], "arms.rw.resample_below must be in (0, 1]"),
    (["run.dtype=float16"], "choose one of 'float32', 'float64'"),
    (["arms.gd.scheme=gradient_descent"], "choose one of 'gradient_flow', 'birth_death', 'reweighting'"),
    (["arms.gd.alpha=1"], "is not an option of scheme 'gradient_flow'"),
    (["run.steps=45"], "must be a multiple of run.record_every"),
    (["arms.bd.quench_last=80"], "quench_last (80) exceeds run.steps (40)"),
    (["arms.gd.lr=0.1"], "lr needs an optimizer"),
    (["run.seeds=[1, 1]"], "distinct seeds"),
    (["run.seeds=0"], "run.seeds must be ≥ 1"),
    (["run.seeds"], "malformed --set 'run.seeds'"),
    (["run.seeds=[0,"], "is not a TOML value"),
    (["run.n="], "no value after '='"),
    (["run..n=3"], "malformed --set"),
    (["run.n.x=3"], "run.n is not a table"),
    (["arms.gd.optimizer=adamw"], "choose one of 'sgd', 'adam'"),
    # issue 20's wiring of issues 23 and 26: order, noise schedules, periodic, the conic arm, torus_mmd
    (["arms.gd.order=3"], "arms.gd.order: unknown value 3; choose one of 1, 2"),
    (["arms.bd.order=2"], "arms.bd.order: birth_death is first order only"),
    (["arms.rw.order=2", "arms.rw.max_transfer=0.5"], "needs max_transfer=None/0"),
    (["arms.gd.order=2", "arms.gd.noise=0.1"], "needs noise=None/0"),
    (
        ['arms.gd.noise={schedule = "linear", init_value = 0.1, end_value = -1.0, transition_steps = 10}'],
        "arms.gd.noise: temperature schedule gives τ",
    ),
    (['arms.gd.noise={schedule = "logarithmic"}'], "arms.gd.noise"),
    (["arms.gd.periodic=true"], "periodic=True needs a problem that declares a torus"),
    (["problem.name=torus_mmd"], "problem torus_mmd lives on the torus; add periodic = true"),
    (["arms.c.scheme=conic", "arms.c.dt=0.01"], "arms.c"),
    (["arms.c.scheme=conic", "arms.c.dt=0.01", "arms.c.alpha=1", "arms.c.order=2"], "conic is first order only"),
]


@pytest.mark.parametrize("items, fragment", HANDLED, ids=[h[0][0] for h in HANDLED])
def test_handled(capsys, small_file, tmp_path, items, fragment):
    out = tmp_path / "out"
    refused(capsys, ["run", str(small_file), *sets(*items), "--out", str(out)], fragment, [out])


def test_handled_command_lines(capsys, small_file, half, tmp_path):
    refused(capsys, ["run"], "needs a CONFIG", [tmp_path])
    refused(capsys, ["run", "--resume", str(half), "--set", "run.n=3"], "--resume takes no CONFIG", [half])
    refused(capsys, ["run", "exp1_godo"], "did you mean 'exp1_good'?", [tmp_path])
    refused(capsys, ["run", str(small_file), "--bogus"], "unrecognized arguments", [tmp_path])


# --- class 1: unreadable files ------------------------------------------------------------------------------------


def test_config_not_utf8_missing_or_not_toml(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe[run]\n")
    refused(capsys, ["run", str(bad), "--out", str(tmp_path / "o")], "not UTF-8", [tmp_path])
    bad.write_text("[run\nsteps = 1\n")
    refused(capsys, ["run", str(bad)], "is not valid TOML", [tmp_path])
    refused(capsys, ["run", str(tmp_path)], "is a directory", [tmp_path])
    refused(capsys, ["run", str(tmp_path / "none.toml")], "not found", [tmp_path])


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _garbage(path):
    path.write_bytes(b"\x00garbage\xff" * 10)


def _empty(path):
    path.write_bytes(b"")


def _not_utf8(path):
    path.write_bytes(path.read_bytes() + b"\xff\xfe\n")


def _delete(path):
    path.unlink()


def _bad_progress(path):
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["progress"] = np.asarray(json.dumps({"gd": {"status": "weird", "step": "x"}}))
    np.savez(path, **arrays)


def _json_list(path):
    path.write_text("[1, 2]")


DAMAGE = [
    ("checkpoint.npz", _truncate, "checkpoint.npz"),
    ("checkpoint.npz", _garbage, "checkpoint.npz"),
    ("checkpoint.npz", _empty, "checkpoint.npz"),
    ("checkpoint.npz", _bad_progress, "damaged"),
    ("checkpoint.npz", _delete, "no checkpoint.npz"),  # steps were computed: refused, not restarted
    ("metadata.json", _garbage, "metadata.json"),
    ("metadata.json", _truncate, "metadata.json"),
    ("metadata.json", _json_list, "metadata.json"),
    ("metrics.csv", _delete, "metrics.csv: no such file"),
    ("metrics.csv", _not_utf8, "metrics.csv: not UTF-8"),
    ("config.toml", _not_utf8, "not UTF-8"),
]


@pytest.mark.parametrize("name, damage, fragment", DAMAGE, ids=[f"{d[0]}-{d[1].__name__}" for d in DAMAGE])
def test_resume_damaged(capsys, half, name, damage, fragment):
    damage(half / name)
    refused(capsys, ["run", "--resume", str(half)], fragment, [half])


PLOT_DAMAGE = [
    ("metadata.json", _garbage, "metadata.json"),
    ("metrics.csv", _delete, "not an mfbd run directory"),
    ("metrics.csv", _not_utf8, "metrics.csv: not UTF-8"),
    ("metrics.csv", lambda p: p.write_text(p.read_text().replace("0.0", "zero", 1)), "metrics.csv"),
    ("metrics.csv", _empty, "no rows"),
    ("snapshots/gd-00000040.npz", _truncate, "gd-00000040.npz"),
    ("config.toml", _not_utf8, "not UTF-8"),
]


@pytest.mark.parametrize("name, damage, fragment", PLOT_DAMAGE, ids=[f"{d[0]}-{i}" for i, d in enumerate(PLOT_DAMAGE)])
def test_plot_damaged(capsys, done, name, damage, fragment):
    damage(done / name)
    refused(capsys, ["plot", str(done)], fragment, [done])


def test_plot_not_a_run(capsys, tmp_path):
    refused(capsys, ["plot", str(tmp_path)], "not an mfbd run directory", [tmp_path])


# --- class 2: resume checks what it resumes -----------------------------------------------------------------------


def _edit(run_dir, old, new):
    path = run_dir / "config.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


EDITS = [
    ("dt = 0.01", "dt = 0.02", "arms.gd.dt changed from 0.01 to 0.02 since the checkpoint"),
    ("alpha = 5.0", "alpha = 6.0", "arms.bd.alpha changed from 5.0 to 6.0"),
    ("steps = 40", "steps = 10", "(below the checkpointed step 20)"),
    ("n = 16", "n = 8", "run.n changed from 16 to 8"),
    ("seeds = 2", "seeds = 3", "run.seeds changed from 2 to 3"),
    ('dtype = "float64"', 'dtype = "float32"', "run.dtype changed"),
    ('rates = "centred"', 'rates = "uncentred"', "arms.bd.rates changed"),
    (
        "[arms.rw]",
        '[arms.extra]\nscheme = "gradient_flow"\ndt = 0.1\n\n[arms.rw]',
        "arms.extra.scheme changed from nothing",
    ),
]


@pytest.mark.parametrize("old, new, fragment", EDITS, ids=[e[2].split(" ")[0] for e in EDITS])
def test_resume_refuses_an_edited_config(capsys, half, old, new, fragment):
    _edit(half, old, new)
    refused(capsys, ["run", "--resume", str(half)], fragment, [half])


def test_resume_refuses_an_old_format_or_another_version(capsys, half):
    path = half / "checkpoint.npz"
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files if k != "fingerprint"}
    np.savez(path, **arrays)
    refused(
        capsys, ["run", "--resume", str(half)], f"was written by mfbd {mfbd.__version__} (checkpoint format 1)", [half]
    )
    stored = {"format": 2, "mfbd": "0.0.1", "config": ""}
    np.savez(path, **arrays, fingerprint=np.asarray(json.dumps(stored)))
    refused(capsys, ["run", "--resume", str(half)], "was written by mfbd 0.0.1", [half])


def test_resume_refuses_complete_runs_non_runs_and_missing_states(capsys, done, half, tmp_path):
    refused(capsys, ["run", "--resume", str(done)], "already complete", [done])
    refused(capsys, ["run", "--resume", str(tmp_path / "nowhere")], "no such directory", [tmp_path])
    empty = tmp_path / "empty"
    empty.mkdir()
    refused(capsys, ["run", "--resume", str(empty)], "not an mfbd run directory", [empty])
    path = half / "checkpoint.npz"
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files if not k.startswith("gd/")}
    np.savez(path, **arrays)
    refused(capsys, ["run", "--resume", str(half)], "does not match", [half])


def test_resume_accepts_a_new_label_and_ends_as_the_uninterrupted_run(capsys, runs, half):
    _edit(half, "[arms.gd]\n", '[arms.gd]\nlabel = "plain GD"\n')
    assert resume_run(half, quiet=True, plot=False) == 0
    assert without_wall(half) == without_wall(runs[0])  # but for the seconds of the wall column


# --- class 3: everything validated before the run directory exists ------------------------------------------------

BEFORE = [
    (["run.seeds=[0, 4294967296]"], "exceeds the uint32 range"),
    (["run.seeds=[-1, 2]"], "distinct seeds ≥ 0"),
    (["run.seeds=[]"], "non-empty list"),
    (["run.seeds=4294967297"], "exceeds the uint32 range"),
]


@pytest.mark.parametrize("items, fragment", BEFORE, ids=[b[0][0] for b in BEFORE])
def test_before_the_run_directory(capsys, small_file, tmp_path, items, fragment):
    out = tmp_path / "a" / "b"
    refused(capsys, ["run", str(small_file), *sets(*items), "--out", str(out)], fragment, [tmp_path])


def test_data_batch_not_a_multiple_of_the_block(capsys, tmp_path):
    out = tmp_path / "o"
    refused(
        capsys, ["run", "exp2_2020", *sets("problem.batch_size=1500"), "--out", str(out)], "use 1024 or 2048", [out]
    )


def test_out_paths_the_os_refuses(capsys, small_file, tmp_path):
    long = tmp_path / "parent" / "child" / ("x" * 300)
    refused(capsys, ["run", str(small_file), "--out", str(long)], "cannot write the output directory", [tmp_path])
    assert not (tmp_path / "parent").exists()  # no empty parents left behind
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "f").write_text("x")
    refused(capsys, ["run", str(small_file), "--out", str(busy)], "already exists and is not empty", [tmp_path])
    refused(capsys, ["run", str(small_file), "--out", str(busy / "f")], "already exists", [tmp_path])
    refused(capsys, ["run", str(small_file), "--out", str(busy / "f" / "sub")], "cannot write", [tmp_path])


# --- class 4: sizes a machine cannot hold -------------------------------------------------------------------------

ST = "exp2_meanfield"
SIZES = [
    (ST, ["run.n=1000000000000"], "one chunk needs about"),
    (ST, ["run.seeds=1000000000"], "one chunk needs about"),
    (ST, ["run.steps=1000000000000"], "exceeds the int32 step counter"),
    (ST, ["run.steps=2147483648", "run.record_every=1"], "exceeds the int32 step counter"),
    (ST, ["problem.dim=1000000000"], "one chunk needs about"),
    (ST, ["problem.teacher_width=1000000000"], "one chunk needs about"),
    (ST, ["problem.mode=data", "problem.batch_size=1024000000"], "(oracle:"),
    (ST, ["problem.mode=data", "problem.batch_size=1000000000"], "multiple of 1024"),
    (
        ST,
        ["run.steps=2000000000", "run.record_every=1", "run.chunk=2000000000", "run.checkpoint_every=2000000000"],
        "(records:",
    ),
    ("exp1_good", ["run.n=1000000000000"], "or pass --force"),
]


@pytest.mark.parametrize("name, items, fragment", SIZES, ids=[" ".join(s[1]) for s in SIZES])
def test_sizes_refused_at_once(capsys, tmp_path, name, items, fragment):
    out = tmp_path / "o"
    line = refused(capsys, ["run", name, *sets(*items), "--out", str(out)], fragment, [out])
    assert "GiB" in line or "int32" in line or "1024" in line


def test_force_lifts_only_the_memory_refusal(small_file):
    config = load(str(small_file))
    huge = config.run.__class__(steps=40, n=10**12, chunk=40)
    with pytest.raises(ConfigError, match="or pass --force"):
        _memory.check(config.__class__(config.name, "", config.problem, huge, config.arms))
    _memory.check(config.__class__(config.name, "", config.problem, huge, config.arms), force=True)
    with pytest.raises(ConfigError, match="int32"):
        _memory.check(
            config.__class__(config.name, "", config.problem, huge.__class__(steps=2**31, n=4), config.arms), force=True
        )


def _limit_memory():
    limit = 6 * 2**30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@pytest.mark.parametrize("items", [["run.n=1000000000000"], ["problem.dim=1000000000"]])
def test_sizes_refused_in_a_memory_limited_child(tmp_path, items):
    out = tmp_path / "o"
    command = [sys.executable, "-m", "mfbd", "run", ST, *sets(*items), "--out", str(out)]
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, preexec_fn=_limit_memory, check=False
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("mfbd: error: ")
    assert "one chunk needs about" in result.stderr and "6.0 GiB available" in result.stderr
    assert not out.exists()


# --- class 5: names that collide or do not round-trip -------------------------------------------------------------


def test_arms_gd_and_gd_b_do_not_mix_snapshots(small_file, runs, tmp_path):
    path = tmp_path / "c.toml"  # the fixture's config with bd renamed gd-b: its compiled chunks are reused
    path.write_text(small_file.read_text().replace("[arms.bd]", "[arms.gd-b]"))
    status = runner.run(load(str(path), TWO[1::2]), str(tmp_path / "r"))
    assert status.code == 0
    gd, gd_b = rundir.read_snapshots(status.run_dir, "gd"), rundir.read_snapshots(status.run_dir, "gd-b")
    assert [s["step"] for s in gd] == [0, 20, 40] and [s["step"] for s in gd_b] == [0, 20, 40]
    reference = rundir.read_snapshots(runs[0], "bd")  # gd-b is bd under another name
    np.testing.assert_array_equal(gd_b[-1]["particles"]["y"], reference[-1]["particles"]["y"])
    assert not np.array_equal(gd[-1]["particles"]["y"], gd_b[-1]["particles"]["y"])
    files = {p.name for p in (status.run_dir / "snapshots").iterdir()}
    assert files == {f"{a}-{k:08d}.npz" for a in ("gd", "gd-b", "rw") for k in (0, 20, 40)}


@pytest.mark.parametrize("label", ["bell\u0007", "del\u007f", 'quote " and \\ back', "new\nline", "tab\tü"])
def test_labels_with_control_characters_round_trip(small_file, label):
    from mfbd.config import parse
    from mfbd.runner.rundir import config_text

    config = load(str(small_file))
    arms = ((config.arms[0][0], config.arms[0][1].__class__(dt=0.01, label=label)), *config.arms[1:])
    config = config.__class__(config.name, label, config.problem, config.run, arms)
    import tomllib

    back = parse(tomllib.loads(config_text(config)), config.name)
    assert back.label("gd") == label and back.description == label


def test_labels_that_cannot_be_written_are_refused_before_the_directory(small_file, tmp_path):
    config = load(str(small_file))
    arms = ((config.arms[0][0], config.arms[0][1].__class__(dt=0.01, label="lone \ud800")), *config.arms[1:])
    config = config.__class__(config.name, "", config.problem, config.run, arms)
    with pytest.raises(ConfigError, match="cannot be written as a config.toml that reads back"):
        runner.run(config, str(tmp_path / "o"))
    assert not (tmp_path / "o").exists()


def test_arm_names_differing_only_in_case_are_refused(capsys, small_file, tmp_path):
    out = tmp_path / "o"
    items = sets("arms.GD.scheme=gradient_flow", "arms.GD.dt=0.1")
    refused(capsys, ["run", str(small_file), *items, "--out", str(out)], "differ only in case", [tmp_path])


def test_description_with_control_characters_through_set(small_file, tmp_path):
    from mfbd.runner.rundir import config_text

    config = load(str(small_file), ['description="a\\u0001b\\u007f"'])
    path = tmp_path / "config.toml"
    path.write_text(config_text(config))
    assert dumps(load(str(path))) == dumps(config) and config.description == "a\u0001b\u007f"


# --- class 6: the API refuses what it cannot compute --------------------------------------------------------------

PROBLEM = mfbd.problems.gaussian_mixture_1d()


def _particles(n=8, value=None):
    particles = PROBLEM.init_particles(jax.random.key(0), n)
    if value is not None:
        particles = {**particles, "c": particles["c"].at[3].set(value)}
    return particles


SCHEMES = {
    "gd": lambda **kw: mfbd.gradient_flow(PROBLEM, 0.01, **kw),
    "bd": lambda **kw: mfbd.birth_death(PROBLEM, 0.01, 1.0, **kw),
    "rw": lambda **kw: mfbd.reweighting(PROBLEM, 0.01, 1.0, **kw),
}
API = [
    (lambda: SCHEMES["gd"](optimizer="adam"), TypeError, "optimizer"),
    (lambda: SCHEMES["bd"](optimizer=object()), TypeError, "optimizer"),
    (lambda: SCHEMES["rw"](integrator="heun", optimizer=optax.sgd(0.1)), ValueError, "integrator='heun'"),
    (lambda: SCHEMES["gd"](gradient="stale"), ValueError, "gradient"),
    (lambda: SCHEMES["bd"](splitting="yoshida"), ValueError, "splitting"),
    (lambda: mfbd.birth_death(PROBLEM, 0.01, float("nan")), ValueError, "alpha"),
    (lambda: mfbd.gradient_flow(PROBLEM, -1.0), ValueError, "dt"),
    (lambda: mfbd.reweighting(PROBLEM, 0.01, 1.0, max_transfer=2.0), ValueError, "max_transfer"),
]
API += [
    (lambda: mfbd.problems.student_teacher(jax.random.key(0), dim=0), ValueError, "dim"),
    (lambda: mfbd.problems.student_teacher(jax.random.key(0), teacher_width=0), ValueError, "teacher_width"),
]
API += [(lambda s=s: SCHEMES[s]().init(_particles(value=np.nan)), ValueError, "particles") for s in SCHEMES]
API += [(lambda s=s: SCHEMES[s]().init(_particles(value=np.inf)), ValueError, "particles") for s in ("gd", "bd")]
API += [(lambda s=s: SCHEMES[s]().init(_particles(n=0)), ValueError, "particles") for s in ("bd", "rw")]


@pytest.mark.parametrize("call, error, fragment", API, ids=[f"api{i}" for i in range(len(API))])
def test_api_refuses(call, error, fragment):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and fragment in message, message


def test_api_runner_refuses(small_file, done, tmp_path):
    config = load(str(small_file))
    with pytest.raises(ConfigError, match="already exists"):
        runner.run(config, str(done))
    with pytest.raises(ConfigError, match="no such directory"):
        runner.resume(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="already complete"):
        runner.resume(done)


# --- issue 10's bad input: schedules and step options -------------------------------------------------------------

SCHEDULES = [
    ('arms.bd.alpha={schedule="cosine", init_value=1.0, decay_steps=40}', "did you mean 'cosine_decay'?"),
    ('arms.bd.alpha={schedule="cosine_decay", init_value=1.0, decay_step=40}', "did you mean 'decay_steps'?"),
    ('arms.bd.alpha={schedule="cosine_decay", init_value=1.0}', "missing key 'arms.bd.alpha.decay_steps'"),
    ('arms.bd.alpha={schedule="cosine_decay", init_value=1.0, decay_steps=1.5}', "must be an integer"),
    ('arms.bd.alpha={schedule="linear", init_value=1.0, end_value=-1.0, transition_steps=20}', "at step 11"),
    ('arms.bd.alpha={schedule="constant", value=-1.0}', "at step 0"),
    ("arms.bd.alpha={init_value=1.0}", "needs schedule ="),
    ('arms.bd.alpha={schedule="piecewise_constant", init_value=1.0, boundaries_and_scales={a=1}}', "step = scale"),
    ("arms.bd.gradient=stale", "choose one of 'carried', 'fresh'"),
    ("arms.bd.splitting=yoshida", "choose one of 'lie', 'strang'"),
    ("arms.gd.integrator=rk4", "choose one of 'euler', 'heun'"),
    ("arms.rw.max_transfer=2", "arms.rw.max_transfer must be in (0, 1]"),
    ("arms.bd.max_transfer=0.5", "is not an option of scheme 'birth_death' (only of 'reweighting')"),
]


@pytest.mark.parametrize("item, fragment", SCHEDULES, ids=[f"schedule{i}" for i in range(len(SCHEDULES))])
def test_schedules_and_options(capsys, small_file, tmp_path, item, fragment):
    out = tmp_path / "o"
    refused(capsys, ["run", str(small_file), "--set", item, "--out", str(out)], fragment, [out])


def test_heun_with_an_optimizer_names_the_valid_combinations(capsys, small_file, tmp_path):
    out = tmp_path / "o"
    items = sets("arms.gd.integrator=heun", "arms.gd.optimizer=adam")
    refused(capsys, ["run", str(small_file), *items, "--out", str(out)], "integrator='euler' with or without", [out])


# --- exit codes 1 and 130 -----------------------------------------------------------------------------------------


def test_a_diverging_arm_exits_1_and_the_others_finish(capsys, small_file, tmp_path):
    out = tmp_path / "o"
    code = main(["run", str(small_file), *sets(*TWO[1::2], "arms.gd.dt=1e8"), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and err.count("\n") == 1 and "arm 'gd' stopped" in err
    statuses = {a: s["status"] for a, s in rundir.read_status(out).items()}
    assert statuses == {"gd": "failed", "bd": "complete", "rw": "complete"}


def test_ctrl_c_exits_130_with_one_line(capsys, small_file, tmp_path, monkeypatch):
    from mfbd import cli

    def stop(*args):
        raise KeyboardInterrupt

    status = cli.run_config(load(str(small_file), TWO[1::2]), str(tmp_path / "o"), quiet=True, reporter=stop)
    err = capsys.readouterr().err
    assert status == 130 and err.count("\n") == 1 and "Continue with: mfbd run --resume" in err
