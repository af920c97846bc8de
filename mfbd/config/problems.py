"""The bundled problem kinds of a config (:class:`~mfbd.config.kinds.ProblemKind` entries), with their schemas:
experiment 1's Gaussian mixture, experiment 2's student–teacher problem, ``digits`` (classification; observes
train/test loss and accuracy) and ``torus_mmd`` (Chizat 2022; periodic arms; observes F_τ when an arm has noise).
Pure: nothing is built on import.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect

import jax
import jax.numpy as jnp

from mfbd.config.kinds import ProblemKind
from mfbd.config.toml import ConfigError, field
from mfbd.problems.digits import classification_observer, digits
from mfbd.problems.entropy import free_energy_observer
from mfbd.problems.gaussian_mixture import STARTS, gaussian_mixture_1d
from mfbd.problems.student_teacher import INPUTS, MODES, SCALINGS, student_teacher
from mfbd.problems.torus import torus_mmd
from mfbd.simulate import state_energy

__all__ = ["BUNDLED", "BLOCK", "GaussianMixture1D", "StudentTeacher", "Digits", "TorusMMD", "options"]


def _default(fn, name):
    """The default of parameter ``name`` of ``fn``: configs inherit the library's defaults."""
    return inspect.signature(fn).parameters[name].default


@dataclasses.dataclass(frozen=True)
class GaussianMixture1D:
    """Experiment 1 (paper-notes §5): :func:`gaussian_mixture_1d`."""

    name: str = "gaussian_mixture_1d"
    start: str = field(_default(gaussian_mixture_1d, "start"), choices=tuple(STARTS))


@dataclasses.dataclass(frozen=True)
class StudentTeacher:
    """Experiment 2 (paper-notes §5): :func:`mfbd.problems.student_teacher`.

    The standard scaling's width is the run's n; ``teacher_seed`` draws the teacher.
    """

    name: str = "student_teacher"
    dim: int = field(_default(student_teacher, "dim"), check="positive")
    teacher_width: int = field(_default(student_teacher, "teacher_width"), check="positive")
    inputs: str = field(_default(student_teacher, "inputs"), choices=INPUTS)
    mode: str = field(_default(student_teacher, "mode"), choices=MODES)
    batch_size: int = field(_default(student_teacher, "batch_size"), check="positive")
    scaling: str = field(_default(student_teacher, "scaling"), choices=SCALINGS)
    prior_std: float | None = field(_default(student_teacher, "prior_std"), check="positive")
    teacher_seed: int = field(0, check="nonnegative")


@dataclasses.dataclass(frozen=True)
class Digits:
    """Digits classification (:func:`mfbd.problems.digits`): 8×8 images, 10 classes, softmax cross-entropy."""

    name: str = "digits"
    train_size: int = field(_default(digits, "train_size"), check="positive")
    split_seed: int = field(_default(digits, "split_seed"), check="nonnegative")
    block_size: int = field(_default(digits, "block_size"), check="positive")
    weight_decay: float = field(_default(digits, "weight_decay"), check="nonnegative")
    output_std: float = field(_default(digits, "output_std"), check="positive")
    hidden_std: float = field(_default(digits, "hidden_std"), check="positive")


@dataclasses.dataclass(frozen=True)
class TorusMMD:
    """½ MMD² on the 2-torus (:func:`mfbd.problems.torus_mmd`, Chizat 2022); its arms need ``periodic = true``."""

    name: str = "torus_mmd"
    atoms: int = field(_default(torus_mmd, "atoms"), check="positive")
    modes: int = field(_default(torus_mmd, "modes"), check="positive")
    atom_seed: int = field(_default(torus_mmd, "atom_seed"), check="nonnegative")
    block_size: int = field(_default(torus_mmd, "block_size"), check="positive")


#: Fields that are not passed through by name to the library constructor.
_NOT_OPTIONS = {"name", "teacher_seed", "scheme", "label", "dt", "alpha", "noise", "optimizer", "lr", "quench_last"}


def options(section) -> dict:
    """The keyword options of a problem or arm config, named as in the library constructor."""
    return {f.name: getattr(section, f.name) for f in dataclasses.fields(section) if f.name not in _NOT_OPTIONS}


BLOCK = _default(student_teacher, "block_size")


def _check_blocks(section, run):
    """The blocked data-mode oracle splits a batch into blocks of BLOCK samples."""
    if section.mode == "data" and section.batch_size > BLOCK and section.batch_size % BLOCK:
        lower, upper = section.batch_size // BLOCK * BLOCK, -(-section.batch_size // BLOCK) * BLOCK
        raise ConfigError(
            f"problem.batch_size ({section.batch_size}) must be at most {BLOCK} or a multiple of {BLOCK} "
            f"(the oracle's block); use {lower} or {upper}"
        )


def _build_mixture(section, n, x64):
    with jax.enable_x64(x64):
        return gaussian_mixture_1d(**options(section))


def _build_teacher(section, n, x64):
    with jax.enable_x64(x64):
        return student_teacher(jax.random.key(section.teacher_seed), **options(section), width=n)


def _observe_teacher(section, n, x64):
    """Data mode: ``population_energy`` (E(μ) in closed form, the kernel-mode problem)."""
    if section.mode != "data":
        return None
    exact = _build_teacher(dataclasses.replace(section, mode="kernel"), n, x64)
    return state_energy(exact, "population_energy")


def _teacher_observe(observe, problem, arm):
    """A conic arm's population energy is E of its unnormalised masses."""
    return dataclasses.replace(observe, conic=True) if observe is not None and arm.scheme == "conic" else observe


def _build_digits(section, n, x64):
    with jax.enable_x64(x64):
        return digits(**options(section), dtype=jnp.float64 if x64 else jnp.float32)


@functools.lru_cache(maxsize=32)
def _classification(problem, conic: bool):
    """Train loss and accuracy, test loss and accuracy (:func:`classification_observer`, without weight decay)."""
    x = problem.extras
    train = classification_observer(problem, x["x_train"], x["y_train"], prefix="train", conic=conic)
    test = classification_observer(problem, x["x_test"], x["y_test"], prefix="test", conic=conic)
    return lambda state: train(state) | test(state)


def _digits_observe(observe, problem, arm):
    """A conic arm's weights are unnormalised masses."""
    return _classification(problem, arm.scheme == "conic")


def _build_torus(section, n, x64):
    with jax.enable_x64(x64):
        return torus_mmd(**options(section))


@functools.lru_cache(maxsize=32)
def _free_energy(noise, period):
    return free_energy_observer(noise, period=period)


def _torus_observe(observe, problem, arm):
    """F_τ = E - τ ĥ (k-NN entropy on the torus) when the arm has noise (a number > 0 or a schedule)."""
    if not callable(arm.noise) and arm.noise == 0:
        return observe
    return _free_energy(arm.noise, problem.period)


def _periodic_arm(section, arm, where: str):
    if not arm.periodic:
        raise ConfigError(f"{where}: problem torus_mmd lives on the torus; add periodic = true to the arm")


#: The bundled kinds by ``[problem] name`` (sampling mode: :data:`mfbd.config.sampling.KIND`).
BUNDLED: dict[str, ProblemKind] = {
    "gaussian_mixture_1d": ProblemKind(GaussianMixture1D, _build_mixture),
    "student_teacher": ProblemKind(
        StudentTeacher,
        _build_teacher,
        observe=_observe_teacher,
        arm_observe=_teacher_observe,
        log_time=True,
        unit_scalars=lambda s: s.dim + 1,
        teacher=lambda s: (s.teacher_width, s.batch_size if s.mode == "data" else 0),
        check=_check_blocks,
    ),
    "digits": ProblemKind(Digits, _build_digits, arm_observe=_digits_observe),
    "torus_mmd": ProblemKind(TorusMMD, _build_torus, arm_observe=_torus_observe, check_arm=_periodic_arm),
}
