"""Info.oracle_passes against a counting oracle, for every option combination.

The counting oracle wraps ``problem.evaluate`` with a host callback, so it counts
the passes the compiled step actually runs (a pass inside a while loop once per
iteration), independently of the tally the schemes keep while tracing.
"""

import dataclasses
import itertools

import jax
import numpy as np
import optax
import pytest

import mfbd
import mfbd.pde as pde
from mfbd.problems import gaussian_mixture_1d

N, DT = 16, 0.01
OPTIONS = list(itertools.product(("carried", "fresh"), ("lie", "strang"), ("euler", "heun")))


def counting(problem, calls):
    """``problem`` whose evaluate appends to ``calls`` once per pass the compiled program runs
    (a host callback) or, with ``traced=True`` in ``calls``' owner, once per traced call."""
    evaluate = problem.evaluate

    def counted(particles, weights=None, key=None):
        ev = evaluate(particles, weights, key)
        if calls.runtime:
            jax.debug.callback(lambda e: calls.append(1), ev.energy)
        else:
            calls.append(1)
        return ev

    return dataclasses.replace(problem, evaluate=counted)


class Calls(list):
    def __init__(self, runtime):
        super().__init__()
        self.runtime = runtime


def one_step(make, runtime=False, **options):
    """``(info.oracle_passes, passes the counting oracle saw)`` for one step (init not counted).

    ``runtime=False`` traces the step without compiling it and counts the traced calls of
    ``problem.evaluate`` (valid for straight-line steps); ``runtime=True`` runs the jitted step
    and counts the passes executed."""
    calls = Calls(runtime)
    problem = counting(gaussian_mixture_1d(), calls)
    scheme = make(problem, **options)
    state = scheme.init(problem.init_particles(jax.random.key(0), N))
    jax.effects_barrier()
    calls.clear()
    if runtime:
        _, info = jax.jit(scheme.step)(jax.random.key(1), state)
        jax.effects_barrier()
        return int(info.oracle_passes), len(calls)
    jaxpr = jax.make_jaxpr(lambda k, s: scheme.step(k, s)[1].oracle_passes)(jax.random.key(1), state).jaxpr
    (passes,) = jaxpr.outvars  # a constant of the traced program
    return int(passes.val), len(calls)


ARMS = {
    "gradient_flow": lambda p, **o: mfbd.gradient_flow(p, DT, **o),
    "birth_death": lambda p, **o: mfbd.birth_death(p, DT, 5.0, **o),
    "birth_death_fill_deficit": lambda p, **o: mfbd.birth_death(p, DT, 50.0, prior="fill_deficit", **o),
    "birth_death_replace_killed": lambda p, **o: mfbd.birth_death(
        p, DT, 50.0, prior="replace_killed", control="pairing", **o
    ),
    "reweighting": lambda p, **o: mfbd.reweighting(p, DT, 5.0, resample_below=0.5, **o),
}


def _expected(arm, gradient, splitting, integrator):
    """The documented cost: a Lie step 1 pass, Strang 2, fresh +1, Heun's transport +1, then per
    reaction: 1 for μ_b newborns, 1 for scheme B's trapezoid V*."""
    reactions = 2 if splitting == "strang" else 1
    base = reactions + (gradient == "fresh") + (integrator == "heun")
    if arm.startswith("birth_death_"):
        return base + reactions
    if arm == "reweighting":
        return base + reactions * (integrator == "heun")
    return base


@pytest.mark.parametrize(("gradient", "splitting", "integrator"), OPTIONS)
@pytest.mark.parametrize("arm", sorted(ARMS))
def test_oracle_passes_equal_the_traced_passes(arm, gradient, splitting, integrator):
    options = dict(gradient=gradient, splitting=splitting, integrator=integrator)
    if arm != "gradient_flow" and (gradient, splitting, integrator) == ("carried", "strang", "heun"):
        with pytest.raises(ValueError, match="first order"):  # refused since issue 23 (silently first order)
            one_step(ARMS[arm], **options)
        return
    reported, counted = one_step(ARMS[arm], **options)
    assert reported == counted == _expected(arm, gradient, splitting, integrator)


@pytest.mark.parametrize(
    "make", [lambda p: mfbd.gradient_flow(p, DT, order=2), lambda p: mfbd.reweighting(p, DT, 5.0, order=2)]
)
def test_second_order_step_is_two_passes(make):
    """order=2 is the first-same-as-last Heun step: passes at y* and at y' only (issue 23)."""
    assert one_step(make, True) == (2, 2)


@pytest.mark.parametrize(("arm", "options"), [
    ("birth_death_fill_deficit", ("fresh", "strang", "heun")),
    ("reweighting", ("carried", "lie", "euler")),
])  # fmt: skip
def test_oracle_passes_equal_the_executed_passes(arm, options):
    reported, counted = one_step(
        ARMS[arm], True, **dict(zip(("gradient", "splitting", "integrator"), options, strict=True))
    )
    assert reported == counted == _expected(arm, *options)


@pytest.mark.parametrize(("gradient", "splitting", "integrator"), [("carried", "lie", "euler"), OPTIONS[-1]])
def test_adaptive_reweighting_counts_its_sub_steps(gradient, splitting, integrator):
    """α·Δt large against max_transfer: each reaction is sub-cycled with V re-evaluated per sub-step
    inside a while loop, a number of passes known only at run time."""
    options = dict(gradient=gradient, splitting=splitting, integrator=integrator)
    make = lambda p, **o: mfbd.reweighting(p, DT, 2000.0, max_transfer=0.05, **o)  # noqa: E731
    reported, counted = one_step(make, True, **options)
    assert reported == counted > _expected("reweighting", gradient, splitting, integrator)


def test_optimizer_step_is_one_pass():
    reported, counted = one_step(lambda p, **o: mfbd.birth_death(p, DT, 5.0, optimizer=optax.adam(1e-2), **o))
    assert reported == counted == 1


def test_the_trace_sums_the_passes_of_a_record_and_the_initial_record_counts_init():
    problem = gaussian_mixture_1d()
    scheme = mfbd.reweighting(problem, DT, 5.0, gradient="fresh", integrator="heun")
    state = scheme.init(problem.init_particles(jax.random.key(0), N))
    _, trace = mfbd.simulate(jax.random.key(1), scheme, state, 12, record_every=4, record_initial=True)
    np.testing.assert_array_equal(trace["oracle_passes"], [1, 4 * 4, 4 * 4, 4 * 4])  # 1 + fresh + heun + V*


@pytest.mark.parametrize(("splitting", "integrator"), [("lie", "euler"), ("strang", "heun")])
def test_pde_scheme_counts_its_grid_passes(splitting, integrator, monkeypatch):
    calls = []
    make_oracle = pde.scheme.grid_oracle

    def counted_oracle(*args):
        oracle = make_oracle(*args)
        evaluate = oracle.evaluate

        def counted(density):
            ev = evaluate(density)
            jax.debug.callback(lambda e: calls.append(1), ev.energy)
            return ev

        return oracle._replace(evaluate=counted)

    monkeypatch.setattr(pde.scheme, "grid_oracle", counted_oracle)
    problem = gaussian_mixture_1d()
    grid = pde.Grid(("y", "c"), (-4, -5), (4, 5), (12, 14))
    dt = 0.5 * pde.max_dt(problem, grid)
    scheme = pde.eulerian_scheme(problem, grid, dt, alpha=5.0, splitting=splitting, integrator=integrator)
    state = scheme.init(pde.start_density(grid, "good"))
    jax.effects_barrier()
    calls.clear()
    _, info = jax.jit(scheme.step)(jax.random.key(0), state)
    jax.effects_barrier()
    assert int(info.oracle_passes) == len(calls) == (2 if splitting == "lie" else 6)
