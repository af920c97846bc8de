"""The :class:`ProblemKind` record: what the edge asks of one ``[problem] name`` (pure: nothing is built here).

The registry itself is :data:`mfbd.config.schema.KINDS` (the bundled kinds of :mod:`mfbd.config.problems`,
sampling mode's :data:`mfbd.config.sampling.KIND`); a user factory ``"pkg.mod:factory"`` is
:data:`mfbd.config.user.KIND`. No other module branches on a problem's name or type.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

__all__ = ["ProblemKind"]


def _same(problem, arm):
    return problem


def _same_observe(observe, problem, arm):
    return observe


def _nothing(*args):
    return None


def _no_teacher(section) -> tuple[int, int]:
    return 0, 0


@dataclasses.dataclass(frozen=True)
class ProblemKind:
    """One problem kind.

    Attributes:
      schema: the frozen dataclass read from ``[problem]`` (None: a user factory, :mod:`mfbd.config.user`).
      build: ``(section, n, x64) -> Problem``, built in float64 if ``x64``.
      observe: ``(section, n, x64) -> (state -> dict) | None``: observables of every metrics row.
      arm_problem: ``(problem, arm) -> Problem``: the problem an arm's scheme runs on.
      arm_observe: ``(observe, problem, arm) -> observe``: the observer of one arm.
      picture: the key of the particle picture in ``mfbd.plotting.PICTURES`` (None: the problem's name).
      figures: stems of ``mfbd.plotting.METRIC_FIGURES`` drawn from the metrics.
      log_time: the energy figure's time axis is logarithmic.
      unit_scalars: ``section -> numbers per particle`` for the memory estimate (None: from one drawn particle).
      teacher: ``section -> (teacher units, data batch)`` for the memory estimate.
      check: ``(section, run) -> None``, raising ConfigError for sizes the problem cannot run (``run``: the
        config's :class:`~mfbd.config.schema.Run`).
      check_arm: ``(section, arm, where) -> None``, raising ConfigError for an arm the problem cannot run (torus:
        periodic; sampling with ``kl``: equally weighted).
      watch_rise: warn when the energy rises sharply (:mod:`mfbd.runner.watch`); False where E may be negative
        and is not monotone early on (sampling: a KDE estimate of KL up to log Z).
      energy_meaning: what the ``energy`` column estimates, for figure labels and the summary (None: E itself).
      pass_cost: ``(problem, arm, n) -> PassCost | None``, the work of one oracle pass of the problem the arm runs
        on at n particles: metrics.csv then records ``grad_evals`` and ``kernel_evals`` = ``passes`` × it.
    """

    schema: type | None
    build: Callable
    observe: Callable = _nothing
    arm_problem: Callable = _same
    arm_observe: Callable = _same_observe
    picture: str | None = None
    figures: tuple[str, ...] = ()
    log_time: bool = False
    unit_scalars: Callable | None = None
    teacher: Callable = _no_teacher
    check: Callable = _nothing
    check_arm: Callable = _nothing
    watch_rise: bool = True
    energy_meaning: str | None = None
    pass_cost: Callable = _nothing
