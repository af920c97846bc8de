"""Checks run on 4 fake CPU devices, in a fresh process (see tests/test_sharding.py).

``JAX_NUM_CPU_DEVICES=4 python tests/multidevice_checks.py [section ...]`` prints
one JSON object; the test asserts on it. Every sharded run is compared with the same run
on one device in this process.
"""

from __future__ import annotations

import json
import sys

import jax
import jax.numpy as jnp
import numpy as np

import mfbd
from mfbd.sharding import particle_mesh, shard_state
from mfbd.simulate import run_chunk

jax.config.update("jax_enable_x64", True)

N = 32  # particles: 8 per device


def max_difference(a, b):
    return max(
        float(np.max(np.abs(np.asarray(x) - np.asarray(y))))
        for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    )


def deterministic_runs():
    """Gradient flow and reweighting, kernel and data mode: max |sharded - single|."""
    data = jax.random.normal(jax.random.key(3), (64, 5))
    problems = {
        "kernel": mfbd.problems.gaussian_mixture_1d(),
        "data": mfbd.problems.student_teacher(jax.random.key(0), dim=5, mode="data", data=data, block_size=16),
    }
    out = {}
    for mode, problem in problems.items():
        schemes = {
            "gradient_flow": mfbd.gradient_flow(problem, 0.02),
            "reweighting": mfbd.reweighting(problem, 0.02, 5.0),
        }
        for name, scheme in schemes.items():
            state = scheme.init(
                jax.tree.map(lambda a: a.astype(jnp.float64), problem.init_particles(jax.random.key(1), N))
            )
            single, trace1 = mfbd.simulate(jax.random.key(2), scheme, state, 30)
            sharded, trace4 = mfbd.simulate(jax.random.key(2), scheme, shard_state(state), 30)
            out[f"{name}/{mode}"] = {
                "state": max_difference(single, sharded),
                "energy": max_difference(trace1["energy"], trace4["energy"]),
                "scale": float(np.max(np.abs(np.asarray(single.particles[next(iter(single.particles))])))),
                "still_sharded": sharded.potential.sharding.spec == jax.sharding.PartitionSpec("particles"),
            }
    return out


def birth_death_law(
    sharded: bool, seeds: int = 32, n: int = 256, alpha: float = 1.0, dt: float = 0.01, steps: int = 100
):
    """Pure birth-death with V = U(θ) = θ²/2 from μ₀ = N(0, 1).

    The law at t is e^{-αtU} μ₀ / Z = N(0, 1/(1 + αt)). Returns, over independent
    seeds, the mean and standard error of the particles' mean and second moment.
    """
    problem = mfbd.problems.non_interacting(
        lambda theta: 0.5 * theta**2, lambda k, m: jax.random.normal(k, (m,), jnp.float64)
    )
    scheme = mfbd.birth_death(problem, dt, alpha, transport=False)
    keys = jax.vmap(lambda s: jax.random.split(jax.random.key(s), 2))(jnp.arange(100, 100 + seeds))
    states = jax.vmap(lambda k: scheme.init(problem.init_particles(k, n)))(keys[:, 0])
    # Seeds stacked on axis 0, so the particles are axis 1 of every per-particle leaf.
    states = shard_state(states, particle_axis=1) if sharded else states
    states, trace = run_chunk(scheme, 1, steps, seeds=True)(keys[:, 1], states)
    x = np.asarray(states.particles)
    means, second = x.mean(axis=1), (x**2).mean(axis=1)
    return {
        "mean": float(means.mean()),
        "mean_se": float(means.std(ddof=1) / np.sqrt(seeds)),
        "second_moment": float(second.mean()),
        "second_moment_se": float(second.std(ddof=1) / np.sqrt(seeds)),
        "second_moment_exact": 1.0 / (1.0 + alpha * dt * steps),
        "events_per_seed": float((trace["killed"].sum() + trace["born"].sum()) / seeds),
    }


def indivisible_error():
    try:
        shard_state(jnp.zeros((10, 3)))
    except ValueError as error:
        return str(error)
    return None


def main(sections):
    """Run the named sections (``deterministic``, ``birth_death_law``, ``errors``; default all)."""
    checks = {
        "deterministic": deterministic_runs,
        "birth_death_law": lambda: {"single": birth_death_law(False), "sharded": birth_death_law(True)},
        "errors": lambda: {"indivisible": indivisible_error(), "mesh_axis": list(particle_mesh().axis_names)},
    }
    report = {"devices": jax.device_count()}
    report.update({name: checks[name]() for name in sections or checks})
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
