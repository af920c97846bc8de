"""Particles sharded over devices: a 1-D device mesh along the particle axis.

The schemes need no change to run sharded. Place the state with
:func:`shard_state` and call the jitted step or :func:`mfbd.simulate` as usual:
XLA's SPMD partitioner splits every per-particle array over the mesh axis
``"particles"`` and inserts the collectives that keep the global quantities
global — the interaction sums Σ_j w_j K(θ_i, θ_j) and f_μ(x) = Σ_j w_j φ(x, θ_j),
V̄ = Σ_i w_i V_i, the energy, ESS, and the birth-death index gathers (a clone
may come from a unit held by another device). The random draws are the same
values whatever the sharding, so a sharded run equals the single-device run up
to the order of floating-point sums.

Across processes (one process per host or per GPU) the same code runs after
``jax.distributed.initialize``: ``jax.devices()`` then lists every device of
every process, and :func:`particle_mesh` spans them all. Every process must
build the same initial state (same key) before calling :func:`shard_state`,
which then hands each process only its own shards.

Example:
  >>> import jax, mfbd
  >>> from mfbd.sharding import shard_state
  >>> problem = mfbd.problems.gaussian_mixture_1d()
  >>> scheme = mfbd.gradient_flow(problem, dt=0.01)
  >>> n = 8 * jax.device_count()
  >>> state = shard_state(scheme.init(problem.init_particles(jax.random.key(0), n)))
  >>> state, trace = mfbd.simulate(jax.random.key(1), scheme, state, 10)
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

__all__ = ["PARTICLE_AXIS", "particle_mesh", "shard_state"]

#: Name of the mesh axis the particles are split along.
PARTICLE_AXIS = "particles"


def particle_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
    """A 1-D mesh over ``devices`` (default: all devices of all processes).

    The axis is ``"particles"`` of type ``Auto``, so jit propagates the
    sharding through the whole step (``jax.make_mesh`` defaults to explicit
    axes, which would make every scheme spell out its shardings).
    """
    devices = jax.devices() if devices is None else list(devices)
    if not devices:
        raise ValueError("particle_mesh needs at least one device; pass devices=None for all of them")
    return jax.make_mesh((len(devices),), (PARTICLE_AXIS,), axis_types=(AxisType.Auto,), devices=devices)


def shard_state(tree, mesh: Mesh | None = None, particle_axis: int = 0):
    """Place ``tree`` on ``mesh``, split along the particles.

    The particle count n is the size of dimension ``particle_axis`` of the first
    leaf that has it (for a :class:`mfbd.State`, the first particle leaf). Every
    leaf whose dimension ``particle_axis`` has size n is split along it over the
    ``"particles"`` axis; every other leaf (a step counter, an optimizer's
    count, the energy) is replicated.

    Args:
      tree: a pytree of arrays, e.g. a :class:`mfbd.State` or a particles pytree.
      mesh: a mesh with a ``"particles"`` axis (default :func:`particle_mesh`).
      particle_axis: the dimension that indexes the particles.

    Returns:
      The same pytree of global arrays (``jax.Array``). With several processes every
      process must pass the same values; each keeps its own shards.

    Raises:
      ValueError: if n is not a multiple of the number of devices on the axis.
    """
    mesh = particle_mesh() if mesh is None else mesh
    if PARTICLE_AXIS not in mesh.axis_names:
        raise ValueError(f"mesh has axes {mesh.axis_names}; build it with particle_mesh() to get a 'particles' axis")
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    sizes = [np.shape(leaf)[particle_axis] for leaf in leaves if np.ndim(leaf) > particle_axis]
    if not sizes:
        raise ValueError(f"no leaf has a dimension {particle_axis} to shard; pass the particle_axis of the particles")
    n, parts = sizes[0], mesh.shape[PARTICLE_AXIS]
    if n % parts:
        raise ValueError(
            f"cannot shard {n} particles over {parts} devices: n must be a multiple of the device count "
            f"(e.g. n = {parts * max(n // parts, 1)})"
        )
    split = NamedSharding(mesh, PartitionSpec(*([None] * particle_axis), PARTICLE_AXIS))
    replicated = NamedSharding(mesh, PartitionSpec())

    def place(leaf):
        on_axis = np.ndim(leaf) > particle_axis and np.shape(leaf)[particle_axis] == n
        return _put(leaf, split if on_axis else replicated)

    return jax.tree_util.tree_unflatten(treedef, [place(leaf) for leaf in leaves])


def _put(leaf, sharding: NamedSharding) -> jax.Array:
    """``device_put`` in one process; with several, each process builds its own shards."""
    if sharding.is_fully_addressable:
        return jax.device_put(leaf, sharding)
    host = np.asarray(leaf)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])
