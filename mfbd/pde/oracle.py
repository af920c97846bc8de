"""V, ∇V and E at a grid density, and the CFL speed bounds (see :mod:`mfbd.pde`)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mfbd import _checks
from mfbd.pde.grid import Grid
from mfbd.problems.base import Evaluation, Problem

__all__ = ["GridOracle", "ORACLES", "PATHS", "grid_oracle", "max_dt"]

#: How V is evaluated on the grid: "pairwise" (any problem, O(G²)) or "factorised" (V = c·U(y)).
ORACLES = ("pairwise", "factorised")
#: The old names of ``oracle`` (one-release aliases): "generic" = "pairwise", "output_weight" = "factorised".
PATHS = ("generic", "output_weight")
_OLD_NAMES = dict(zip(PATHS, ORACLES, strict=True))


def oracle_name(oracle: str) -> str:
    """The current name of an ``oracle`` option (old ``path`` names accepted)."""
    oracle = _OLD_NAMES.get(oracle, oracle)
    return _checks.choice("oracle", oracle, ORACLES)


class GridOracle(NamedTuple):
    """V, ∇V and E at a grid density, and the CFL speed bounds.

    Attributes:
      evaluate: ``density [N₀, N₁] -> Evaluation`` with ``potential`` ``[N₀, N₁]``,
        ``grad_potential`` ``{name: [N₀, N₁]}`` (at cell centres) and ``energy``.
      speeds: ``(s₀, s₁)``, bounds on the absolute face velocity along each
        axis, valid for every probability density on the grid.
    """

    evaluate: Callable[[jax.Array], Evaluation]
    speeds: tuple[float, float]


def _check_problem(problem: Problem, grid: Grid):
    if problem.mode != "kernel":
        raise ValueError(f"the PDE solver needs a kernel-mode problem (deterministic V); {problem.name} is data-mode")
    probe = jax.eval_shape(lambda key: problem.init_particles(key, 2), jax.random.key(0))
    if not isinstance(probe, dict) or set(probe) != set(grid.names) or any(jnp.ndim(v) != 1 for v in probe.values()):
        keys = sorted(probe) if isinstance(probe, dict) else type(probe).__name__
        raise ValueError(f"Grid.names {grid.names} must be the problem's two scalar particle keys, got {keys}")


def _generic_oracle(problem: Problem, grid: Grid) -> GridOracle:
    """V and E from ``problem.evaluate`` at the cell centres with weights ρ_c|cell|; O(G²)."""
    shape, area, names = grid.shape, grid.cell_area, grid.names
    key = jax.random.key(0)

    def evaluate(density):
        w = (density * area).reshape(-1)
        ev = problem.evaluate(grid.centres(density.dtype), w, key)
        grad = {name: ev.grad_potential[name].reshape(shape) for name in names}
        return Evaluation(ev.potential.reshape(shape), grad, ev.energy)

    # V(θ_i, δ_θj) for every cell i and one point mass j, from a two-unit evaluation.
    centres = grid.centres()
    unit_mass = jnp.asarray([0.0, 1.0], centres[names[0]].dtype)

    def point_mass_potential(theta_i, theta_j):
        pair = {name: jnp.stack([theta_i[name], theta_j[name]]) for name in names}
        return problem.evaluate(pair, unit_mass, key).potential[0]

    def face_speeds(theta_j):
        v = jax.vmap(point_mass_potential, in_axes=(0, None))(centres, theta_j).reshape(shape)
        return jnp.stack([jnp.max(jnp.abs(jnp.diff(v, axis=d))) / grid.spacing[d] for d in (0, 1)])

    speeds = jax.jit(lambda thetas: jnp.max(jax.lax.map(face_speeds, thetas, batch_size=64), axis=0))(centres)
    return GridOracle(jax.jit(evaluate), tuple(float(s) for s in speeds))


def _output_weight_oracle(problem: Problem, grid: Grid) -> GridOracle:
    """V = c·U(y) with U = -F̂ + K̂ m, from F̂, K̂ and C_f read off the oracle once; O(N_y² + N_y N_c)."""
    name_y, name_c = grid.names
    ys, cs = grid.axes()
    ny = ys.shape[0]
    key = jax.random.key(0)

    def units(y, c, w):
        return problem.evaluate({name_y: y, name_c: c}, w, key)

    @jax.jit
    def tables(ys, probe_y, probe_c, probe_w):
        # The empty measure gives V = -F and E = C_f; a unit mass at (y', 1) gives -F̂(y) + K̂(y, y').
        empty = units(ys, jnp.ones_like(ys), jnp.zeros_like(ys))
        f_hat, df_hat = -empty.potential, -empty.grad_potential[name_y]

        def pair(y, y_other):
            ev = units(jnp.stack([y, y_other]), jnp.ones(2, ys.dtype), jnp.asarray([0.0, 1.0], ys.dtype))
            return ev.potential[0], ev.grad_potential[name_y][0]

        v_pair, dv_pair = jax.vmap(jax.vmap(pair, in_axes=(None, 0)), in_axes=(0, None))(ys, ys)
        probe = units(probe_y, probe_c, probe_w).potential
        return f_hat, df_hat, empty.energy, v_pair + f_hat[:, None], dv_pair + df_hat[:, None], probe

    # One pass over the grid's y and four probe units (y, c, w) that check the factorisation.
    fractions = np.asarray([0.2, 0.45, 0.7, 0.9])
    probe_y = grid.lower[0] + fractions * (grid.upper[0] - grid.lower[0])
    probe_c = grid.lower[1] + fractions[::-1] * (grid.upper[1] - grid.lower[1])
    probe_w = np.asarray([0.1, 0.2, 0.3, 0.4])
    out = tables(*(jnp.asarray(a) for a in (np.concatenate([ys, probe_y]), probe_y, probe_c, probe_w)))
    f_hat, df_hat, c_f, k_hat, dk_hat, probe = (np.asarray(a, np.float64) for a in out)
    factorised = probe_c * (-f_hat[ny:] + k_hat[ny:, ny:] @ (probe_w * probe_c))
    if not np.allclose(probe, factorised, rtol=1e-5, atol=1e-6 * (1 + np.max(np.abs(probe)))):
        raise ValueError(
            f"oracle='factorised' needs V(θ) = {name_c}·U({name_y}) with K = {name_c}{name_c}'·K̂; "
            f"{problem.name} is not of that form: use oracle='pairwise'"
        )
    f_hat, df_hat, k_hat, dk_hat = f_hat[:ny], df_hat[:ny], k_hat[:ny, :ny], dk_hat[:ny, :ny]
    area = grid.cell_area

    def evaluate(density):
        f, df, k, dk, c = (jnp.asarray(a, density.dtype) for a in (f_hat, df_hat, k_hat, dk_hat, cs))
        m = (density * area) @ c  # m(y) = Σ_c c w_{y,c}
        u, du = -f + k @ m, -df + dk @ m
        energy = jnp.asarray(c_f, density.dtype) - f @ m + 0.5 * m @ (k @ m)
        grad = {name_y: du[:, None] * c[None, :], name_c: jnp.broadcast_to(u[:, None], density.shape)}
        return Evaluation(u[:, None] * c[None, :], grad, energy)

    # Face speeds over point masses (y', c'): V is affine in c', so c' at the two extreme centres suffices.
    # A y-face moves at -c·ΔU/h_y, a c-face at -U (V is linear in c).
    u_point = -f_hat[None, :, None] + np.asarray([cs[0], cs[-1]])[:, None, None] * k_hat[None]  # [2, y, y']
    speed_y = np.max(np.abs(cs)) * np.max(np.abs(np.diff(u_point, axis=1))) / grid.spacing[0]
    speed_c = np.max(np.abs(u_point))
    return GridOracle(jax.jit(evaluate), (float(speed_y), float(speed_c)))


def grid_oracle(problem: Problem, grid: Grid, oracle: str = "pairwise", *, path: str | None = None) -> GridOracle:
    """The :class:`GridOracle` of ``problem`` on ``grid`` (cached per problem, grid and path).

    Args:
      problem: a kernel-mode problem whose particles are ``{names[0]: [n], names[1]: [n]}``.
      grid: the grid.
      oracle: ``"pairwise"`` (any such problem, O(G²) per evaluation) or
        ``"factorised"`` (φ = c·φ̂(·, y) with c = ``names[1]``, e.g. experiment 1).
      path: the old name of ``oracle`` (``"generic"``, ``"output_weight"``), accepted for one release.
    """
    return _cached_oracle(problem, grid, oracle_name(path if path is not None else oracle))


@functools.lru_cache(maxsize=32)
def _cached_oracle(problem: Problem, grid: Grid, oracle: str) -> GridOracle:
    _check_problem(problem, grid)
    return _generic_oracle(problem, grid) if oracle == "pairwise" else _output_weight_oracle(problem, grid)


def max_dt(
    problem: Problem, grid: Grid, *, tau: float = 0.0, cfl: float = 0.5, oracle: str = "pairwise", path=None
) -> float:
    """The largest Δt with Δt·Σ_d (s_d/h_d + τ/h_d²) ≤ cfl (positivity for all time; module docstring)."""
    if not 0 < cfl <= 0.5:
        raise ValueError(f"cfl must be in (0, 0.5] for a positive scheme, got {cfl}")
    if not np.isfinite(tau) or tau < 0:
        raise ValueError(f"tau (diffusion τ) must be ≥ 0, got {tau}")
    speeds = grid_oracle(problem, grid, oracle, path=path).speeds
    rate = sum(s / h + tau / h**2 for s, h in zip(speeds, grid.spacing, strict=True))
    return cfl / rate if rate > 0 else math.inf
