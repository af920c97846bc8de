"""Sweeps (mfbd.config.sweep, the one loop of mfbd.runner): a small sweep end to end through the CLI (run,
resume after a
simulated kill mid-sweep, plot), the vmapped points against sequential runs, the memory split, the
one-line errors, and the scheme contract with traced hyperparameters."""

import csv
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_same_checkpoint, without_wall

import mfbd
from mfbd import runner, sweep
from mfbd.cli import main, run_config
from mfbd.config import ConfigError, load, read
from mfbd.runner.plan import copy_bytes, plan
from mfbd.runner.rundir import read_metrics, read_points

BASE = """\
name = "tiny_sweep"

[problem]
name = "gaussian_mixture_1d"

[run]
steps = 40
n = 8
seeds = 2
record_every = 10
chunk = 10
checkpoint_every = 20

[arms.gd]
scheme = "gradient_flow"
dt = 0.01

[arms.bd]
scheme = "birth_death"
dt = 0.01
alpha = 5.0
"""

SWEEP = BASE + '\n[sweep]\n"arms.bd.alpha" = [1.0, 20.0]\n"run.n" = [8, 12]\n'


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("configs")
    (folder / "base.toml").write_text(BASE)
    (folder / "sweep.toml").write_text(SWEEP)
    return folder


@pytest.fixture(scope="module")
def swept(files, tmp_path_factory):
    """The 2 α × 2 n sweep run once, uninterrupted, through the CLI (2 groups: n = 8 and n = 12)."""
    out = tmp_path_factory.mktemp("runs") / "sweep"
    assert main(["run", str(files / "sweep.toml"), "--out", str(out), "--quiet"]) == 0
    return out


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_the_sweep_run_directory(swept, files):
    index = _rows(swept / "sweep.csv")
    assert [(r["point"], r["group"], r["arms.bd.alpha"], r["run.n"]) for r in index] == [
        ("0", "0", "1.0", "8"),
        ("2", "0", "20.0", "8"),
        ("1", "1", "1.0", "12"),
        ("3", "1", "20.0", "12"),
    ]
    rows = _rows(swept / "group-000" / "metrics.csv")
    assert list(rows[0])[:6] == ["point", "arms.bd.alpha", "run.n", "arm", "seed", "step"]
    assert len(rows) == 2 * 2 * 2 * 5  # points × arms × seeds × records
    resolved = read(str(swept / "config.toml"))
    assert resolved.points == read(str(files / "sweep.toml")).points  # the resolved config re-runs as is
    meta = json.loads((swept / "metadata.json").read_text())
    assert meta["sweep"]["groups"] == 2 and {s["status"] for s in meta["groups"].values()} == {"complete"}
    table = _rows(swept / "sweep_table.csv")
    assert len(table) == 4 * 2 and {r["arm"] for r in table} == {"gd", "bd"}
    assert all(float(r["speedup_mean"]) == 1.0 for r in table if r["arm"] == "gd")
    for name in ("sweep.png", "sweep.pdf"):
        assert (swept / name).stat().st_size > 1000


def test_each_point_equals_its_own_run(swept, files, tmp_path):
    """The vmapped program (both α in one batch) gives the metrics of ``mfbd run`` per point.

    The draws are the same (the integer counts agree exactly); the floats agree to rounding, since XLA
    may order a batched reduction differently from an unbatched one (bit for bit on jax 0.10.1, within
    one ulp on jax 0.12.1). A different draw or a wrong α would differ at the 1e-3 level.
    """
    points = {(p["values"]["arms.bd.alpha"], p["values"]["run.n"]): p for p in read_points(swept)}
    for alpha in ("1.0", "20.0"):
        config = load(str(files / "base.toml"), [f"arms.bd.alpha={alpha}"])
        status = runner.run(config, str(tmp_path / alpha))
        alone = read_metrics(status.run_dir)
        mine = points[(alpha, "8")]["metrics"]
        for arm in ("gd", "bd"):
            for column in ("killed", "born"):
                np.testing.assert_array_equal(mine[arm][column], alone[arm][column], err_msg=f"{alpha} {arm} {column}")
            for column in ("energy", "ess", "mean_potential"):
                np.testing.assert_allclose(
                    mine[arm][column], alone[arm][column], rtol=1e-12, atol=0, err_msg=f"{alpha} {arm} {column}"
                )
    bd = points[("20.0", "8")]["metrics"]["bd"]
    assert bd["killed"].sum() + bd["born"].sum() > 0  # birth-death happened: the draws matched


class Killed(BaseException):
    """Stands for kill -9: nothing of the session's clean-up on KeyboardInterrupt runs."""


def test_a_sweep_killed_mid_way_resumes_bit_identical(swept, files, tmp_path, capsys):
    out = tmp_path / "sweep"
    calls = []

    def reporter(arm, done, total):
        calls.append(arm)
        if len(calls) == 11:  # group 0: 8 chunks; the 3rd chunk of group 1's gd (after its checkpoint at 20)
            raise Killed

    with pytest.raises(Killed):
        run_config(read(str(files / "sweep.toml")), str(out), quiet=True, reporter=reporter)
    assert calls[-1] == "group-001/gd"
    assert main(["run", "--resume", str(out), "--quiet"]) == 0
    for group in ("group-000", "group-001"):
        assert without_wall(out / group) == without_wall(swept / group)  # but for the wall column's seconds
        assert_same_checkpoint(out / group / "checkpoint.npz", swept / group / "checkpoint.npz")
    assert main(["run", "--resume", str(out)]) == 2  # complete now
    assert "already complete" in capsys.readouterr().err
    (out / "sweep.png").unlink()
    assert main(["plot", str(out)]) == 0 and (out / "sweep.png").is_file()


def test_set_sweep_and_the_nested_form(files):
    sw = read(str(files / "base.toml"), ["sweep.arms.bd.alpha=[1,10]", "sweep.mode=zip", "sweep.run.n=[8,12]"])
    assert sw.keys == ("arms.bd.alpha", "run.n") and sw.points == ((1, 8), (10, 12)) and sw.mode == "zip"
    assert [dict(c.arms)["bd"].alpha for c in sw.configs] == [1.0, 10.0]
    # the deprecated module mfbd.sweep still works for one release (its only use here)
    assert sweep.requested(str(files / "base.toml"), ["sweep.arms.bd.alpha=[1,10]"])
    assert not sweep.requested(str(files / "base.toml"), ["arms.bd.alpha=3"])
    # overriding a swept list of the file replaces it
    assert read(str(files / "sweep.toml"), ["sweep.run.n=[16]"]).points == ((1.0, 16), (20.0, 16))


def test_shape_keys_split_groups_and_memory_splits_programs(files):
    sw = read(str(files / "sweep.toml"))
    groups, notes = plan(sw, memory=10**12)
    assert groups == [[0, 2], [1, 3]] and notes == []
    per_point = copy_bytes(sw.configs[0]) * 2
    assert 0 < per_point < 10**7
    groups, notes = plan(sw, memory=per_point)  # room for one point per program
    assert groups == [[0], [2], [1], [3]] and len(notes) == 2 and "split into 2 programs" in notes[0]


@pytest.mark.parametrize(
    "sweep_lines, sets, message",
    [
        ('"arms.bd.alpah" = [1.0]', [], "unknown key 'arms.bd.alpah'; did you mean 'arms.bd.alpha'?"),
        ('"arms.bdd.alpha" = [1.0]', [], "did you mean 'arms.bd.alpha'?"),
        ('"arms.bd.alpha" = []', [], "sweep.arms.bd.alpha is an empty list"),
        ('"arms.bd.alpha" = [1.0, "fast"]', [], "sweep.arms.bd.alpha[1] = 'fast': arms.bd.alpha must be a number"),
        ('"arms.bd.alpha" = [1.0, -2.0]', [], "sweep.arms.bd.alpha[1] = -2.0"),
        ('"arms.bd.alpha" = 1.0', [], "sweep.arms.bd.alpha must be a list of values"),
        ('"arms.bd.alpha" = [1.0, 2.0]', ["arms.bd.alpha=3"], "arms.bd.alpha is both swept"),
        ('mode = "zip"\n"arms.bd.alpha" = [1.0, 2.0]\n"run.n" = [8]', [], "lists of the same length"),
        ('mode = "grid"\n"run.n" = [8]', [], "unknown sweep.mode 'grid'"),
        ('"run.n" = [8]\nreference = "gf"', [], "sweep.reference: no arm 'gf'"),
        ("mode = \"product\"", [], "[sweep] has no swept keys"),
        (f'"arms.bd.alpha" = [{", ".join(["1.0"] * 101)}]\n"run.seeds" = {list(range(1, 101))}', [],
         "10100 points is more than 10000; pass --force"),
    ],
)  # fmt: skip
def test_bad_sweeps_are_one_line_errors_and_nothing_is_written(tmp_path, capsys, sweep_lines, sets, message):
    path = tmp_path / "bad.toml"
    path.write_text(BASE + "\n[sweep]\n" + sweep_lines + "\n")
    out = tmp_path / "out"
    assert main(["run", str(path), *[a for s in sets for a in ("--set", s)], "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not out.exists()


def test_the_point_limit_gives_way_to_force(files, monkeypatch):
    monkeypatch.setattr(mfbd.config.sweep, "MAX_POINTS", 3)  # the parser moved to mfbd.config.sweep
    with pytest.raises(ConfigError, match="4 points is more than 3; pass --force"):
        read(str(files / "sweep.toml"))
    assert len(read(str(files / "sweep.toml"), force=True).points) == 4


# --- the contract: schemes built inside jit/vmap from traced hyperparameters ----------------------------------


@pytest.mark.parametrize(
    "build, values",
    [
        # α, Δt and the quench step traced together, births from μ_b
        (lambda p, v: mfbd.birth_death(p, v[1], v[0], quench_after=v[2].astype(int), prior="fill_deficit"),
         [[0.5, 0.01, 5], [40.0, 0.02, 8]]),
        # α, the resampling threshold and the noise temperature traced together
        (lambda p, v: mfbd.reweighting(p, 0.01, v[0], resample_below=v[1], noise=v[2]),
         [[5.0, 0.9, 0.0], [50.0, 0.5, 1e-3]]),
    ],
)  # fmt: skip
def test_a_scheme_built_inside_vmap_with_traced_values_equals_the_concrete_one(build, values):
    with jax.enable_x64(True):
        problem = mfbd.problems.gaussian_mixture_1d()
        k_particles, k_run = jax.random.split(jax.random.key(3))
        particles = problem.init_particles(k_particles, 16)

        def run(value):
            scheme = build(problem, value)
            return mfbd.simulate(k_run, scheme, scheme.init(particles), 10, record_every=5)

        traced_state, traced = jax.jit(jax.vmap(run))(jnp.asarray(values))
        events = 0
        for i, value in enumerate(values):
            state, trace = run(np.asarray(value))  # concrete numbers: the checked, untraced path
            for column in ("energy", "killed", "born", "ess"):
                np.testing.assert_allclose(traced[column][i], trace[column], rtol=1e-12, err_msg=column)
            np.testing.assert_allclose(traced_state.particles["y"][i], state.particles["y"], rtol=1e-12)
            np.testing.assert_allclose(traced_state.log_weights[i], state.log_weights, rtol=1e-12)
            events += int(trace["killed"].sum() + trace["born"].sum() + (trace["ess"] < 15.9).sum())
        assert events > 0  # the reaction acted, so α and the threshold mattered


CONSTRUCTED = """\
name = "constructed"

[problem]
name = "gaussian_mixture_1d"

[run]
steps = 40
n = 8
seeds = 2
record_every = 10
chunk = 10

[arms.gd]
scheme = "gradient_flow"
dt = 0.01

[arms.bd]
scheme = "birth_death"
dt = 0.01
alpha = 1.0

[sweep]
"arms.bd.alpha" = [1.0, 2.0, 3.0]
"""


def test_a_censored_and_a_failed_point_are_marked_in_figure_and_table(tmp_path):
    """Constructed metrics: at alpha = 1 bd is gd (speed-up exactly 1); at alpha = 2 bd's energy at half the run
    is below anything gd reaches (a lower bound); at alpha = 3 bd goes non-finite after step 20 (failed)."""
    from mfbd.config import read
    from mfbd.plotting.sweep import plot_sweep, table_text
    from mfbd.runner.rundir import write_index

    (tmp_path / "config.toml").write_text(CONSTRUCTED)
    spec = read(str(tmp_path / "config.toml"))
    write_index(tmp_path, spec, [[0, 1, 2]])
    steps = [0, 10, 20, 30, 40]
    gd = {s: [float(np.exp(-k / 10)) for k in steps] for s in (0, 1)}
    bd = {
        1.0: gd,
        2.0: {s: [1.0, 0.01, 0.001, 0.0001, 0.00001] for s in (0, 1)},
        3.0: {s: [1.0, 0.5, float("nan")] for s in (0, 1)},
    }
    (tmp_path / "group-000").mkdir()
    lines = ["point,arms.bd.alpha,arm,seed,step,time,energy"]
    for p, alpha in enumerate((1.0, 2.0, 3.0)):
        for arm, curves in (("gd", gd), ("bd", bd[alpha])):
            for seed, curve in curves.items():
                lines += [f"{p},{alpha},{arm},{seed},{k},{0.01 * k},{e!r}" for k, e in zip(steps, curve, strict=False)]
    (tmp_path / "group-000" / "metrics.csv").write_text("\n".join(lines) + "\n")

    files = plot_sweep(tmp_path)
    assert [f.name for f in files] == ["sweep_table.csv", "sweep.png", "sweep.pdf"]
    assert main(["plot", str(tmp_path / "group-000")]) == 0  # a group's per-point curves
    assert (tmp_path / "group-000" / "energy.png").stat().st_size > 1000
    assert main(["plot", str(tmp_path)]) == 0 and (tmp_path / "sweep_energy.png").stat().st_size > 1000
    table = {(r["point"], r["arm"]): r for r in _rows(tmp_path / "sweep_table.csv")}
    assert float(table["0", "bd"]["speedup_mean"]) == 1.0 and table["0", "bd"]["speedup_bound"] == ""
    assert table["1", "bd"]["speedup_bound"] == "lower" and table["1", "bd"]["speedup_bounds"] == "2"
    assert float(table["1", "bd"]["speedup_mean"]) == pytest.approx(40 / 20)  # gd's last time over bd's half time
    assert table["2", "bd"]["status"] == "failed" and table["2", "bd"]["last_finite_step"] == "10"
    assert float(table["2", "bd"]["last_finite_energy"]) == 0.5
    text = table_text(tmp_path)
    assert "≥ 2 " in text and "bound: the reference never reached" in text
    assert "FAILED: non-finite after step 10" in text and "6 point-arms: 1 speed-up bound(s), 1 failed" in text
    figure = sweep_figure_of(tmp_path)
    assert "2 seeds, 40 steps\n1 speed-up bound(s), 1 failed point-arm(s) of 6" in figure._suptitle.get_text()
    (top, bottom) = figure.axes[:2]
    crosses = [line for line in top.lines if line.get_marker() == "x" and len(line.get_xdata())]
    assert [(line.get_xdata()[0] > 2.5, line.get_ydata()[0]) for line in crosses] == [(True, 0.5)]
    carets = [line for line in bottom.lines if line.get_marker() == "^" and len(line.get_xdata())]
    assert [line.get_ydata()[0] for line in carets] == [pytest.approx(2.0)]


def sweep_figure_of(run_dir):
    from mfbd.plotting.sweep import _title, load_sweep_config, sweep_figure, sweep_rows

    config = load_sweep_config(run_dir)
    keys, rows = sweep_rows(run_dir)
    arms = [(name, config.base.label(name)) for name, _ in config.base.arms]
    return sweep_figure(keys, rows, arms, config.reference, _title(config, rows))
