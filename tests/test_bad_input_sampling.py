"""Bad input of sampling mode (issue 20's battery): n = 1 with the median bandwidth is refused before the run
directory exists, and the memory plan of a d = 16 target covers the arrays one step actually holds."""

import jax
import jax.numpy as jnp
import numpy as np

from mfbd.cli import main
from mfbd.config import load, make_problem, make_scheme
from mfbd.runner import plan
from mfbd.simulate import init_ensemble

SAMPLING = """\
[problem]
name = "sampling"
target = "gaussian"
bandwidth = "median"
{extra}
[run]
steps = 8
n = {n}
seeds = 2
record_every = 4
dtype = "float64"

[arms.bd]
scheme = "birth_death"
dt = 0.01
noise = 1.0
alpha = 1.0
"""


def test_median_bandwidth_with_one_particle_is_one_line_before_the_run_directory(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(SAMPLING.format(n=1, extra=""))
    code = main(["run", str(path), "--out", str(tmp_path / "run"), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and "Traceback" not in err
    assert len(err.splitlines()) == 1 and err.startswith("mfbd: error: "), err
    assert 'problem.bandwidth = "median" needs at least 2 particles, got run.n = 1' in err
    assert "raise run.n or give a number h > 0" in err
    assert not (tmp_path / "run").exists()


def _largest(jaxpr) -> int:
    """Elements of the largest array any equation of ``jaxpr`` (or of a jaxpr inside it) makes."""
    best = 0
    for eqn in jaxpr.eqns:
        best = max([best, *(int(np.prod(getattr(v.aval, "shape", ()))) for v in eqn.outvars)])
        for param in eqn.params.values():
            for sub in param if isinstance(param, tuple | list) else (param,):
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    best = max(best, _largest(inner))
    return best


def test_the_memory_estimate_at_d16_covers_the_state_and_one_steps_largest_array(tmp_path):
    """The plan's estimate of a 16-D Gaussian target against the batched state's leaves (times the copies a
    chunk keeps) and the largest array of one vmapped step (its pairwise block); a 1-D estimate is 16× short."""
    n, dim = 64, 16
    path = tmp_path / "s.toml"
    path.write_text(SAMPLING.format(n=n, extra=f"mean = {[0.0] * dim}\n"))
    config = load(str(path))
    estimate = plan.estimate(config)
    problem = make_problem(config.problem, n, True)
    scheme = make_scheme(problem, dict(config.arms)["bd"], config.run.steps)
    with jax.enable_x64(True):
        states, keys = jax.eval_shape(lambda: init_ensemble(scheme, problem, n, config.run.seed_list, jnp.float64))
        step = jax.make_jaxpr(jax.vmap(scheme.step))(keys, states)
    state_bytes = sum(leaf.size * leaf.dtype.itemsize for leaf in jax.tree_util.tree_leaves(states))
    assert states.particles.shape == (2, n, dim)
    assert estimate["state"] >= plan.COPIES * state_bytes
    assert estimate["state"] + estimate["oracle"] >= 8 * _largest(step.jaxpr)
