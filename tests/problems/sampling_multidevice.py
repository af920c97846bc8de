"""Sampling problems sharded over 4 fake CPU devices against one device (run in a fresh process).

``JAX_NUM_CPU_DEVICES=4 python tests/problems/sampling_multidevice.py`` prints one JSON object.
"""

import json

import jax
import jax.numpy as jnp
import numpy as np

import mfbd
from mfbd.problems import make_target, sampling
from mfbd.sharding import shard_state

jax.config.update("jax_enable_x64", True)


def max_difference(a, b):
    pairs = zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y)))) for x, y in pairs)


def main():
    target = make_target("four_mode_mixture")
    schemes = {
        "reweighting-blob-kl": mfbd.reweighting(
            sampling(target, bandwidth=1.0, rate="kl", transport="blob"), 0.01, 1.0
        ),
        "langevin-median": mfbd.gradient_flow(sampling(target, bandwidth="median", block_size=8), 0.01, noise=1.0),
    }
    cases = {}
    for name, scheme in schemes.items():
        state = scheme.init(target.init_particles(jax.random.key(1), 32).astype(jnp.float64))
        single, _ = mfbd.simulate(jax.random.key(2), scheme, state, 20)
        sharded, _ = mfbd.simulate(jax.random.key(2), scheme, shard_state(state), 20)
        cases[name] = {
            "state": max_difference(single, sharded),
            "scale": float(np.max(np.abs(np.asarray(single.particles)))),
            "still_sharded": sharded.potential.sharding.spec == jax.sharding.PartitionSpec("particles"),
        }
    print(json.dumps({"devices": jax.device_count(), "cases": cases}))


if __name__ == "__main__":
    main()
