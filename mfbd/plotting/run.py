"""Figures of a run directory (PNG and PDF, drawn with matplotlib's Agg canvas).

* ``energy``: E against mean-field time t per arm, the mean over seeds with a
  band from the lowest to the highest seed, log scale (log–log for the
  student-teacher problem, as in the paper). In data mode a second panel
  shows the population energy (closed form) next to the minibatch estimate.
* ``particles``: the problem's own picture. Experiment 1: the fitted f_μ
  against the target f on [-5, 5] and the final (y, c) scatter. Experiment 2:
  the paths of the first two coordinates of |c_i|·z_i through the snapshots
  against the teacher directions, drawn as rays. Any other problem: the
  first two particle coordinates, marker size by weight (:func:`generic_picture`);
  register a picture in :data:`PICTURES`. Sampling mode: :mod:`mfbd.plotting.sampling`,
  which also draws ``sampling_metrics`` (:data:`METRIC_FIGURES`).

Both use the first seed of the run for the particle pictures.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
from matplotlib.figure import Figure

from mfbd.config.schema import Config, kind_of, make_problem, picture_key
from mfbd.config.sweep import load
from mfbd.plotting._common import _coordinates, _final, _save, _spread
from mfbd.plotting.sampling import sampling_metrics_figure, sampling_picture
from mfbd.runner.rundir import CONFIG, read_metrics, read_snapshots, read_status

__all__ = ["plot_run", "energy_figure", "particles_figure", "generic_picture", "PICTURES"]


def energy_figure(config: Config, metrics: dict, stopped: dict[str, int] | None = None) -> Figure:
    """E(t) per arm: mean over seeds, min–max band, log scale.

    ``stopped`` maps arms that stopped on a non-finite value to the step; they
    are marked in the legend, and the y axis ends at 10× the largest initial
    energy so that a diverging arm does not squash the others.
    """
    stopped = stopped or {}
    columns = ["energy"]
    if any("population_energy" in m for m in metrics.values()):
        columns.append("population_energy")
    meaning = kind_of(config.problem).energy_meaning
    titles = {
        "energy": "energy E (minibatch estimate)" if len(columns) > 1 else "energy E",
        "population_energy": "population energy E",
    }
    if meaning:
        titles["energy"] = f"E: {meaning}"
    fig = Figure(figsize=(6.0 * len(columns), 4.2), layout="constrained")
    axes = fig.subplots(1, len(columns), squeeze=False)[0]
    seeds = len(config.run.seed_list)
    for ax, column in zip(axes, columns, strict=True):
        top, positive, finite = 0.0, True, False
        for i, (name, _) in enumerate(config.arms):
            if name not in metrics:
                continue
            t, values = metrics[name]["time"][0], metrics[name][column]
            mean, low, high = _spread(values)
            if np.isfinite(high[:1]).any():  # every seed non-finite from the start: no limit from this arm
                top = max(top, 10 * float(np.nanmax(high[:1])))
            positive = positive and not np.any(values <= 0)  # sampling: E is KL(μ‖π) up to log Z
            finite = finite or bool(np.isfinite(values).any())  # an arm non-finite from step 0 has nothing to draw
            label = config.label(name) + (f" (stopped at step {stopped[name]})" if name in stopped else "")
            ax.plot(t, mean, color=f"C{i}", label=label)
            if values.shape[0] > 1:
                ax.fill_between(t, low, high, color=f"C{i}", alpha=0.2, lw=0)
        if positive and finite:
            ax.set_yscale("log", nonpositive="mask")
        if stopped and top > 0:
            ax.set_ylim(top=top)
        if kind_of(config.problem).log_time:
            ax.set_xscale("log", nonpositive="mask")
        ax.set_xlabel("mean-field time t")
        ax.set_ylabel(titles[column])
        ax.set_title(f"{config.name}: mean over {seeds} seed{'s' * (seeds > 1)}, band min–max", fontsize=10)
        ax.legend()
    return fig


def _mixture_picture(config: Config, problem, snapshots: dict[str, list[dict]], arms) -> Figure:
    """Experiment 1: the fitted f_μ against the target f on [-5, 5] and the final (y, c) scatter."""
    fig = Figure(figsize=(11.0, 4.2), layout="constrained")
    fit, scatter = fig.subplots(1, 2)
    x = np.linspace(-5.0, 5.0, 400)
    fit.plot(x, np.asarray(problem.target(x)), color="black", lw=2.5, alpha=0.5, label="target f")
    for i, name in arms:
        particles, weights, seed, step = _final(snapshots[name])
        f = np.asarray(problem.predict(particles, weights, x))
        fit.plot(x, f, color=f"C{i}", label=f"{config.label(name)}")
        scatter.scatter(particles["y"], particles["c"], s=9, alpha=0.6, color=f"C{i}", label=config.label(name))
    fit.set(xlabel="x", ylabel="f(x)", title=f"fitted $f_\\mu$ at step {step} (seed {seed})")
    scatter.set(xlabel="position y", ylabel="output weight c", title=f"particles (y, c) at step {step} (seed {seed})")
    fit.legend()
    scatter.legend()
    return fig


def _teacher_picture(config: Config, problem, snapshots: dict[str, list[dict]], arms) -> Figure:
    """Experiment 2: paths of the first two coordinates of |c_i|·z_i against the teacher directions."""
    fig = Figure(figsize=(4.2 * len(arms), 4.4), layout="constrained")
    axes = fig.subplots(1, len(arms), squeeze=False, sharex=True, sharey=True)[0]
    teacher = np.asarray(problem.meta.directions)[:, :2]
    signs = np.asarray(problem.meta.signs)
    for ax, (i, name) in zip(axes, arms, strict=True):
        paths = np.stack(
            [np.abs(s["particles"]["c"][0])[:, None] * s["particles"]["z"][0][:, :2] for s in snapshots[name]]
        )
        ax.plot(paths[..., 0], paths[..., 1], color=f"C{i}", lw=0.6, alpha=0.5)
        ax.scatter(paths[-1, :, 0], paths[-1, :, 1], s=8, color=f"C{i}")
        reach = 1.1 * max(np.abs(paths).max(), 1e-12)
        for u, sign in zip(teacher, signs, strict=True):
            end = reach * u / max(np.linalg.norm(u), 1e-12)
            style = dict(color="black", ls="--", lw=1.0) if sign > 0 else dict(color="gray", ls=":", lw=1.2)
            ax.plot([0.0, end[0]], [0.0, end[1]], **style)
        seed, step = int(snapshots[name][-1]["seeds"][0]), snapshots[name][-1]["step"]
        ax.set(title=f"{config.label(name)}: step 0 → {step} (seed {seed})", xlabel="$(|c|z)_1$", aspect="equal")
    axes[0].set_ylabel("$(|c|z)_2$")
    fig.suptitle("paths of |c|·z (first two coordinates); teacher directions dashed (+) and dotted (−)", fontsize=10)
    return fig


def generic_picture(config: Config, problem, snapshots: dict[str, list[dict]], arms) -> Figure:
    """Any problem: the first two particle coordinates at the last snapshot, marker area ∝ n × (the summed
    weight of the exact copies of a unit), so that birth-death's duplicates show."""
    del problem
    fig = Figure(figsize=(5.5, 4.4), layout="constrained")
    ax = fig.subplots()
    names = ["coordinate 0", "coordinate 1"]
    for i, name in arms:
        particles, weights, seed, step = _final(snapshots[name])
        table, names = _coordinates(particles)
        # Exact copies (birth-death duplicates) drawn once, with the summed weight: marker area ∝ multiplicity.
        _, first, copy_of = np.unique(table, axis=0, return_index=True, return_inverse=True)
        mass = np.bincount(copy_of.ravel(), weights=weights)[copy_of.ravel()]
        keep = np.sort(first)
        table, size = table[keep], 12.0 * len(weights) * mass[keep]
        y = table[:, 1] if table.shape[1] > 1 else np.zeros(len(table))
        ax.scatter(table[:, 0], y, s=size, alpha=0.6, color=f"C{i}", label=f"{config.label(name)} (step {step})")
    ax.set(xlabel=names[0], ylabel=names[1] if len(names) > 1 else "", title=f"particles, seed {seed}")
    ax.legend()
    return fig


#: Particle pictures by the problem kind's ``picture`` key (:func:`mfbd.config.problems.picture_key`: the
#: config's problem name or a user factory path); others get :func:`generic_picture`.
PICTURES = {"gaussian_mixture_1d": _mixture_picture, "student_teacher": _teacher_picture, "sampling": sampling_picture}
#: Figures drawn from the metrics, by stem (a problem kind lists its ``figures``): ``draw(config, problem, metrics)``.
METRIC_FIGURES = {"sampling_metrics": sampling_metrics_figure}


def particles_figure(config: Config, problem, snapshots: dict[str, list[dict]]) -> Figure:
    """The problem's picture from the snapshots ``{arm: [snapshot, ...]}`` (see the module docstring)."""
    arms = [(i, name) for i, (name, _) in enumerate(config.arms) if snapshots.get(name)]
    picture = PICTURES.get(picture_key(config.problem), generic_picture)
    return picture(config, problem, snapshots, arms)


def plot_run(run_dir) -> list[Path]:
    """(Re)draw the figures of a run directory; returns the files written."""
    run_dir = Path(run_dir)
    config = load(str(run_dir / CONFIG))
    stopped = {name: arm["failed_at"] for name, arm in read_status(run_dir).items() if arm.get("status") == "failed"}
    metrics = read_metrics(run_dir)
    paths = _save(energy_figure(config, metrics, stopped), run_dir / "energy")
    x64 = config.run.dtype == "float64"
    problem = make_problem(config.problem, config.run.n, x64)
    for stem in kind_of(config.problem).figures:
        paths += _save(METRIC_FIGURES[stem](config, problem, metrics), run_dir / stem)
    with jax.enable_x64(x64):
        snapshots = {name: read_snapshots(run_dir, name) for name, _ in config.arms}
        if any(snapshots.values()):
            paths += _save(particles_figure(config, problem, snapshots), run_dir / "particles")
    return paths
