"""A mean-field-limit meter: a coupled ladder of n and the extrapolation E_n(t) = E_∞(t) + C(t)/n.

Per seed s, one initial draw of n_max units; the run at size n starts from its
first n units (nested subsets: for an i.i.d. sampler each is an i.i.d. sample of
μ₀ of size n) and uses the seed's run key at every n (shared noise). Each size
is one ``jit(vmap)`` program over the seeds. The fit is weighted least squares
of E_n against 1/n with weights 1/Var_s(E_n), done seed by seed (the same linear
estimator as the fit to the seed means), so the error bars, the standard errors
of the per-seed estimates over seeds, account for the coupling between the
sizes of one seed.

At t = 0, for i.i.d. units, E[E(μ_n)] − E(μ₀) = (1/2n)(∫K(θ,θ) dμ₀ − ∬K dμ₀ dμ₀)
exactly, which the tests use to check C.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np

from mfbd.schemes.base import Scheme
from mfbd.simulate import initial_record, run_chunk, seed_keys

__all__ = ["Ladder", "extrapolate", "ladder"]


class Ladder(NamedTuple):
    """The meter's result; L sizes, S seeds, R records (the initial one first).

    Attributes:
      sizes: ``[L]`` the n of each rung.
      time: ``[R]`` mean-field time of the records.
      energy: ``[L, S, R]`` E_n(t) per seed.
      mean, sd: ``[L, R]`` seed mean and standard deviation of E_n(t) (the seed bands).
      e_inf, e_inf_se: ``[R]`` the extrapolated E_∞(t) and its standard error.
      c, c_se: ``[R]`` the fitted C(t) and its standard error.
    """

    sizes: np.ndarray
    time: np.ndarray
    energy: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    e_inf: np.ndarray
    e_inf_se: np.ndarray
    c: np.ndarray
    c_se: np.ndarray


def extrapolate(sizes, energy) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(E_∞, se, C, se)`` per record from ``energy`` ``[L, S, R]``: weighted least squares of
    E_n = E_∞ + C/n per seed (weights 1/Var_s(E_n) per record), then mean and standard error over seeds."""
    sizes = np.asarray(sizes, float)
    energy = np.asarray(energy, float)
    n_seeds = energy.shape[1]
    if len(sizes) < 2 or n_seeds < 2:
        raise ValueError(f"the fit needs at least 2 sizes and 2 seeds; got {len(sizes)} sizes and {n_seeds} seeds")
    design = np.stack([np.ones_like(sizes), 1.0 / sizes], axis=1)  # [L, 2]
    weights = 1.0 / np.maximum(np.var(energy, axis=1, ddof=1), np.finfo(float).tiny)  # [L, R]
    normal = np.einsum("lr,la,lb->rab", weights, design, design)  # [R, 2, 2]
    rhs = np.einsum("lr,la,lsr->rsa", weights, design, energy)  # [R, S, 2]
    per_seed = np.linalg.solve(normal[:, None], rhs[..., None])[..., 0]  # [R, S, 2]
    estimate = per_seed.mean(axis=1)
    se = per_seed.std(axis=1, ddof=1) / np.sqrt(n_seeds)
    return estimate[:, 0], se[:, 0], estimate[:, 1], se[:, 1]


def ladder(problem, scheme: Scheme, sizes, seeds, num_steps: int, *, record_every: int = 1) -> Ladder:
    """Run ``scheme`` at every n in ``sizes`` over ``seeds`` from nested subsets of one draw per seed.

    Args:
      problem: the problem (its ``init_particles`` draws the n_max units of each seed).
      scheme: a scheme built for ``problem`` (schemes do not depend on n).
      sizes: increasing sizes n, at least two.
      seeds: seed numbers (keys as :func:`mfbd.simulate.seed_keys`), at least two.
      num_steps, record_every: as for :func:`mfbd.simulate`; the initial state is recorded first.

    Example:
      >>> import mfbd
      >>> problem = mfbd.problems.gaussian_mixture_1d()
      >>> meter = mfbd.meanfield.ladder(problem, mfbd.gradient_flow(problem, 0.01), [50, 100, 200],
      ...                               range(8), 100, record_every=50)
      >>> meter.e_inf.shape
      (3,)
    """
    sizes = [int(n) for n in sizes]
    if sorted(set(sizes)) != sizes or sizes[0] < 1:
        raise ValueError(f"sizes must be increasing positive integers, got {sizes}")
    if num_steps % record_every:
        raise ValueError(f"num_steps ({num_steps}) must be a multiple of record_every ({record_every})")
    k_particles, k_init, k_run = seed_keys(list(seeds))
    draw = jax.vmap(lambda k: problem.init_particles(k, sizes[-1]))(k_particles)
    energies, time = [], None
    for n in sizes:
        subset = jax.tree_util.tree_map(lambda a, n=n: a[:, :n], draw)
        states = jax.vmap(scheme.init)(subset, k_init)
        first = jax.vmap(initial_record)(states)
        _, trace = run_chunk(scheme, num_steps // record_every, record_every, seeds=True)(k_run, states)
        energies.append(np.concatenate([np.asarray(first["energy"])[:, None], np.asarray(trace["energy"])], axis=1))
        time = np.concatenate([[0.0], np.asarray(trace["time"])[0]])
    energy = np.stack(energies)
    e_inf, e_inf_se, c, c_se = extrapolate(sizes, energy)
    return Ladder(
        np.asarray(sizes), time, energy, energy.mean(axis=1), energy.std(axis=1, ddof=1), e_inf, e_inf_se, c, c_se
    )
