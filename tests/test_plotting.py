"""Figures: drawn from a run directory written by hand through mfbd.runner.rundir (no runner), the
registry of per-problem pictures, and the generic picture of a problem mfbd does not bundle."""

import dataclasses

import numpy as np

from mfbd import plotting
from mfbd.config import Config, GradientFlowArm, Run
from mfbd.runner import rundir


def _snapshot(step, particles, log_weights):
    return {"step": step, "seeds": np.array([0, 1]), "log_weights": log_weights, "particles": particles}


def _saved(fig, stem):
    paths = plotting._save(fig, stem)
    return all(p.stat().st_size > 1000 for p in paths)


@dataclasses.dataclass(frozen=True)
class Toy:
    """A problem config of a user's own problem (not in mfbd.config.PROBLEMS)."""

    name: str = "toy_problem"


def test_a_problem_without_a_registered_picture_gets_the_generic_one(tmp_path):
    config = Config(
        "toy",
        "",
        Toy(),
        Run(steps=20, n=6, seeds=2, record_every=10),
        (("a", GradientFlowArm(dt=0.01)), ("b", GradientFlowArm(dt=0.01))),
    )
    rng = np.random.default_rng(1)
    snapshots = {
        arm: [_snapshot(20, {"w": rng.normal(size=(2, 6, 3)), "b": rng.normal(size=(2, 6))}, rng.normal(size=(2, 6)))]
        for arm in ("a", "b")
    }
    assert "toy_problem" not in plotting.PICTURES
    fig = plotting.particles_figure(config, None, snapshots)
    (ax,) = fig.axes
    assert len(ax.collections) == 2  # one scatter per arm
    offsets = ax.collections[0].get_offsets()
    np.testing.assert_array_equal(offsets[:, 0], snapshots["a"][0]["particles"]["b"][0])  # leaves in key order
    np.testing.assert_array_equal(offsets[:, 1], snapshots["a"][0]["particles"]["w"][0][:, 0])
    lw = snapshots["a"][0]["log_weights"][0]
    w = np.exp(lw) / np.exp(lw).sum()
    np.testing.assert_allclose(ax.collections[0].get_sizes(), 12.0 * 6 * w)  # marker area ∝ n·w_i
    energy = np.array([[1.0, 0.5, 0.25], [2.0, 1.0, 0.5]])
    metrics = {arm: {"time": np.array([[0.0, 0.1, 0.2]] * 2), "energy": energy} for arm in ("a", "b")}
    assert _saved(plotting.energy_figure(config, metrics), tmp_path / "energy")
    assert _saved(fig, tmp_path / "particles")


def test_plot_run_reads_a_run_directory_written_through_rundir(small_config, tmp_path):
    """Metrics, snapshots and a failed arm's status, written with rundir's writers, drawn by plot_run."""
    out = rundir.new_run_dir(small_config, str(tmp_path / "run"))
    steps = np.array([[0, 10, 20, 30, 40]] * 1)
    trace = {"step": steps, "time": steps * 0.01, "energy": np.array([[0.3, 0.2, 0.1, 0.05, 0.02]])}
    failed = {**trace, "energy": np.array([[0.3, 0.2, np.inf, np.nan, np.nan]])}
    with rundir.MetricsWriter(out / rundir.METRICS) as metrics:
        metrics.write("gd", [0], trace)
        metrics.write("bd", [0], failed, upto=3)
    rng = np.random.default_rng(0)
    for arm in ("gd", "bd"):
        for step in (0, 40):
            particles = {"c": rng.normal(size=(1, 16)), "y": rng.normal(size=(1, 16))}
            state = type("S", (), {"particles": particles, "log_weights": np.zeros((1, 16))})
            rundir.write_snapshot(out, arm, step, [0], state)
    rundir.write_json(out / rundir.METADATA, {"arms": {"bd": {"status": "failed", "step": 0, "failed_at": 20}}})
    paths = plotting.plot_run(out)
    assert sorted(p.name for p in paths) == ["energy.pdf", "energy.png", "particles.pdf", "particles.png"]
    assert all(p.stat().st_size > 1000 for p in paths)
    fig = plotting.energy_figure(
        small_config, rundir.read_metrics(out), {n: a["failed_at"] for n, a in rundir.read_status(out).items()}
    )
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["gd", "bd (stopped at step 20)"]
    assert plotting.PICTURES["gaussian_mixture_1d"] is not plotting.generic_picture


def test_sampling_energy_is_labelled_as_a_kde_estimate_of_kl():
    """Sampling mode's recorded energy is a kernel-density KL(μ|π) up to log Z (it may be negative): the
    energy figure's axis says so."""
    from mfbd.config import load
    from mfbd.plotting import energy_figure

    config = load("sampling_double_well")
    metrics = {name: {"time": np.array([[0.0, 1.0]]), "energy": np.array([[-1.0, -2.0]])} for name, _ in config.arms}
    label = energy_figure(config, metrics).axes[0].get_ylabel()
    assert label == "E: KDE estimate of KL(μ|π) up to log Z"
