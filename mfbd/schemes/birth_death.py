"""Scheme A: stochastic birth-death of equally weighted units (fixed n).

It realises the reaction term of

.. math:: ∂_t μ = ∇·(μ ∇V) - α (V - \\bar V) μ .

With β_i = V_i - V̄ (``rates="centred"``) or β_i = V_i (``"uncentred"``, the
notebooks; ``"swapped"``, β_i = -V_i, reproduces the ICML 2019 notebook's sign
defect as an ablation), each unit has the event probability
p_i = 1 - exp(-α Δt |β_i|) (``"exp"``) or min(1, α Δt |β_i|) (``"linear"``).
If β_i > 0 the event kills unit i, if β_i < 0 it duplicates it. The population
is brought back to n by ``control``:

* ``"rebalance"`` (Gaussian notebook): drop the killed, append the duplicates,
  then delete uniformly without replacement, or duplicate uniformly chosen units;
* ``"pairing"`` (student-teacher notebook, Lu–Lu–Nolen): a killed unit is
  overwritten by a copy of a uniformly chosen other unit; a duplicated unit
  overwrites a uniformly chosen other unit. Events are simultaneous: sources are
  read before any write, and when several duplications pick the same target the
  one with the highest index wins (an O(Δt²) loss of events).

With ``prior`` the births come from the problem's μ_b instead:

* ``"fill_deficit"`` (Gaussian notebook): a deficit after ``rebalance`` is
  filled with draws of μ_b; a surplus is deleted uniformly;
* ``"replace_killed"`` (student-teacher notebook): only kills happen, and every
  killed unit is replaced in place by a draw of μ_b.

Newborns from μ_b have no carried V and ∇V, so prior arms spend a second oracle
pass per step. Under jit every shape is static: events are masks, moves are
index gathers. Each step draws its random numbers once (:func:`random_words`):
the event of unit i is u_i < p_i with u_i = k/2^b from a uint32 word, and the
moves take uniform integers from further words. With ``probability="linear"``
the units whose αΔt|β| exceeded 1 (clipped to probability 1) are counted in
``Info.clipped``; reduce Δt or α, or use ``"exp"``, when it is not 0.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mfbd import _checks
from mfbd.problems.base import Problem
from mfbd.schemes.base import (
    Scheme,
    State,
    check_step_parameters,
    gather_units,
    new_lineages,
    random_words,
    uniform_below,
    unit_interval,
    where_units,
)
from mfbd.schemes.schedules import rate_schedule
from mfbd.schemes.splitting import build_scheme, check_order

__all__ = ["birth_death", "RATES", "PROBABILITIES", "CONTROLS", "PRIORS"]

RATES = ("centred", "uncentred", "swapped")
PROBABILITIES = ("exp", "linear")
CONTROLS = ("rebalance", "pairing")
PRIORS = (None, "fill_deficit", "replace_killed")


def event_probability(rate: jax.Array, probability: str) -> jax.Array:
    """p = 1 - exp(-rate) (``"exp"``) or clip(rate, 0, 1) (``"linear"``), rate = αΔt|β|.

    Units with rate > 1 under ``"linear"`` are counted in ``Info.clipped``.
    """
    if probability == "exp":
        return -jnp.expm1(-rate)
    return jnp.clip(rate, 0.0, 1.0)


def selection_cut(priority, n: int, m, interpolate: int = 8):
    """A cut t such that the valid entries with ``priority <= t`` are the n smallest.

    ``priority``: ``[2n]`` int32, valid entries in [0, 2³¹ - 2], invalid ones 2³¹ - 1; ``m`` valid (traced).
    With f(t) = #{v ≤ t}, any t with f(t) = n selects the n smallest; the search keeps f(lo) < n < f(hi)
    and stops at the first such t. Where v₍ₙ₎ = v₍ₙ₊₁₎ (a tie, probability ~2n/2³¹) none exists and it
    stops at hi = lo + 1 = v₍ₙ₎, so the set is always the one ``priority <= sort(priority)[n - 1]``
    selects. When m ≤ n every valid entry is selected (t = 2³¹ - 2). The trial t interpolates the
    bracket as if its f(hi) - f(lo) entries were uniform, t ≈ lo + (hi - lo)(n - f(lo) + ½)/(f(hi) - f(lo)
    + 1), for ``interpolate`` trials, then halves it: uniform priorities take ~3 trials (~7 for the
    slowest of 10 vmapped seeds, where the loop runs until all stop) against a bisection's 31 passes, and
    the halving bounds it by ``interpolate`` + 31. The trials change how fast, never what is selected.
    """
    top = np.int32(np.iinfo(np.int32).max)

    def unsettled(carry):
        return ~carry[-1]

    def trial(carry):
        lo, below, hi, above, cut, it, _ = carry
        half = (hi - lo) >> 1
        f32 = jnp.float32  # the guess only steers the search; 0 < share < 1, so lo < guess ≤ hi
        share = ((n - below).astype(f32) + f32(0.5)) / ((above - below).astype(f32) + f32(1))
        guess = lo + 2 * jnp.minimum((share * half.astype(f32)).astype(jnp.int32), half)
        t = jnp.clip(jnp.where(it < interpolate, guess, lo + half), lo + 1, hi - 1)
        count = jnp.sum(priority <= t).astype(jnp.int32)
        lo, below = jnp.where(count < n, t, lo), jnp.where(count < n, count, below)
        hi, above = jnp.where(count > n, t, hi), jnp.where(count > n, count, above)
        hit = count == n
        return lo, below, hi, above, jnp.where(hit, t, hi), it + 1, hit | (hi - lo <= 1)

    m = m.astype(jnp.int32)
    start = (np.int32(-1), np.int32(0), top - 1, m, top - 1, np.int32(0), m <= n)
    return jax.lax.while_loop(unsettled, trial, start)[4]


def rebalance_sources(key, kill, duplicate, words=None):
    """Indices of the n units after removing ``kill``, appending ``duplicate`` and
    restoring n by uniform deletion or uniform duplication.

    ``words``: ``[2n]`` uint32 random words (default: drawn from ``key``).
    Returns ``(source [n], filled [n] bool, size m)``: ``filled`` marks the slots
    beyond the m units that survived the reaction (the deficit).
    """
    n = kill.shape[0]
    if words is None:
        words = random_words(key, 2 * n)
    valid = jnp.concatenate([~kill, duplicate])  # slot s < n is unit s, slot n + s its duplicate
    m = jnp.sum(valid)
    # Uniform random 31-bit priorities, invalid slots last: the valid slots with
    # the n smallest are a uniform subset without replacement when m ≥ n (all of
    # them when m < n). They are taken in index order, so that a step without
    # events changes nothing. (Only a tie at the cut, probability ~2n/2³¹, breaks
    # by index.) No sort: the cut by an interpolation search, the chosen slots
    # compacted by their running count.
    top = jnp.iinfo(jnp.int32).max
    priority = (words >> 1).astype(jnp.int32)
    priority = jnp.where(valid, jnp.minimum(priority, top - 1), top)
    chosen = valid & (priority <= selection_cut(priority, n, m))
    rank = jnp.cumsum(chosen.astype(jnp.int32)) - 1  # kept[r]: the chosen slot of rank r
    kept = jnp.zeros(n, jnp.int32).at[jnp.where(chosen, rank, n)].set(jnp.arange(2 * n, dtype=jnp.int32), mode="drop")
    j = jnp.arange(n)
    # The deficit's uniform survivors reuse the first n words: priorities matter
    # only when m > n, the fill only when m < n.
    fill = uniform_below(words[:n], jnp.maximum(m, 1))
    slot = kept[jnp.where(j < m, j, fill)]  # a deficit: copies of uniform survivors
    source = jnp.where(m > 0, slot - n * (slot >= n), j)  # extinction: keep the population
    return source, (j >= m) & (m > 0), m


def pairing_sources(key, kill, duplicate, words=None):
    """Indices after simultaneous pairing moves (see the module docstring); ``words``: ``[n]`` uint32
    random words (default: drawn from ``key``)."""
    n = kill.shape[0]
    if words is None:
        words = random_words(key, n)
    j = jnp.arange(n)
    partner = (j + 1 + uniform_below(words, max(n - 1, 1))) % n  # uniform among the others
    source = jnp.where(kill, partner, j)
    writer = jnp.zeros(n, jnp.int32).at[partner].max(jnp.where(duplicate, j + 1, 0).astype(jnp.int32))
    return jnp.where(writer > 0, writer - 1, source)


def birth_death(
    problem: Problem,
    dt: float,
    alpha,
    *,
    rates: str = "centred",
    probability: str = "exp",
    control: str = "rebalance",
    prior: str | None = None,
    quench_after: int | None = None,
    noise: float = 0.0,
    optimizer: optax.GradientTransformation | None = None,
    transport: bool = True,
    gradient: str = "carried",
    splitting: str = "lie",
    integrator: str = "euler",
    order: int | None = None,
    periodic: bool = False,
) -> Scheme:
    """Transport plus stochastic birth-death (scheme A).

    Args:
      problem: the energy.
      dt: time step Δt.
      alpha: birth-death rate α ≥ 0 (mean-field time; a per-step probability p
        corresponds to α = p/Δt), a number (possibly traced) or a schedule
        ``step -> α`` such as an optax schedule (:mod:`mfbd.schemes.schedules`).
        α = 0 is gradient flow exactly.
      rates: ``"centred"`` (β = V - V̄, default) or ``"uncentred"`` (β = V); ``"swapped"`` (β = -V,
        transport unchanged) is an ablation only: the ICML 2019 notebook's sign defect, which kills the
        units with V < 0 (those that lower the loss) and duplicates those with V > 0.
      probability: ``"exp"`` (1 - e^{-αΔt|β|}, default) or ``"linear"`` (clipped).
      control: ``"rebalance"`` or ``"pairing"`` (how n is kept fixed).
      prior: None (births are copies), ``"fill_deficit"`` or ``"replace_killed"``
        (births drawn from ``problem.sample_prior``).
      quench_after: birth-death is off from this step index on (the schedule
        α_k = α for k < quench_after, 0 after). The config's ``quench_last = k``
        maps to ``quench_after = steps - k``.
      noise, optimizer, periodic: as for :func:`mfbd.gradient_flow`.
      transport: False gives pure birth-death (positions frozen).
      gradient, splitting, integrator: step options (:mod:`mfbd.schemes.splitting`).
        Every combination is weak order 1 (``scheme.order()``): the event
        probabilities match e^{∓αΔt|β|} to first order only.
      order: 1 (the default step); 2 is refused (scheme A is weak order 1).

    Example:
      >>> import jax, mfbd
      >>> problem = mfbd.problems.gaussian_mixture_1d()
      >>> scheme = mfbd.birth_death(problem, dt=0.01, alpha=5.0)
      >>> state = scheme.init(problem.init_particles(jax.random.key(0), 200))
      >>> state, info = jax.jit(scheme.step)(jax.random.key(1), state)
    """
    check_step_parameters(dt, noise, alpha)
    _checks.choice("rates", rates, RATES)
    _checks.choice("probability", probability, PROBABILITIES)
    _checks.choice("control", control, CONTROLS)
    _checks.choice("prior", prior, PRIORS)
    if prior is not None and problem.sample_prior is None:
        raise ValueError(f"prior={prior!r} needs a problem with sample_prior; {problem.name} has none")
    if prior == "fill_deficit" and control != "rebalance":
        raise ValueError("prior='fill_deficit' works with control='rebalance' only")
    rate = rate_schedule(alpha, quench_after)
    options = dict(gradient=gradient, splitting=splitting, integrator=integrator)
    check_order(order, options)
    if order == 2:
        raise ValueError(
            "birth_death is weak order 1 with every option (its jumps are first order in dt); "
            "order=2 is available for gradient_flow and reweighting"
        )

    def place_newborns(k_prior, k_data, state: State, mask, evaluate):
        """Draws of μ_b (with a fresh optimizer state) in the slots ``mask``, then a
        second oracle pass (uniform weights): newborns have no carried V and ∇V."""
        n = state.potential.shape[0]
        fresh = problem.sample_prior(k_prior, n)
        fresh = jax.tree_util.tree_map(lambda a, b: a.astype(b.dtype), fresh, state.particles)
        fresh_opt = optimizer.init(fresh) if optimizer is not None else ()
        particles = where_units(mask, fresh, state.particles, n)
        opt_state = where_units(mask, fresh_opt, state.opt_state, n)
        return evaluate(k_data, new_lineages(state, mask)._replace(particles=particles, opt_state=opt_state))

    def reaction(key, state: State, a_h, evaluate):
        """One draw of uint32 words for the whole jump: n for the events, then 2n
        (rebalance) or n (pairing) for the moves; μ_b arms split off two keys. The
        jumps use V as it is; newborns get their own (counted) pass."""
        n = state.potential.shape[0]
        v = state.potential
        weights = jax.nn.softmax(state.log_weights)
        beta = v - jnp.dot(weights, v) if rates == "centred" else -v if rates == "swapped" else v
        rate = a_h * jnp.abs(beta)
        p = event_probability(rate, probability)
        clipped = jnp.sum(rate > 1).astype(jnp.int32) if probability == "linear" else jnp.zeros((), jnp.int32)
        if prior is not None:
            key, k_prior, k_data = jax.random.split(key, 3)
        moves = 0 if prior == "replace_killed" else (n if control == "pairing" else 2 * n)
        words = random_words(key, n + moves)
        event = unit_interval(words[:n], p.dtype) < p
        kill = event & (beta > 0)
        duplicate = event & (beta < 0)

        if prior == "replace_killed":
            new = place_newborns(k_prior, k_data, state, kill, evaluate)
            return new, jnp.sum(kill), jnp.sum(kill), clipped

        if control == "pairing":
            new = gather_units(state, pairing_sources(None, kill, duplicate, words[n:]))
            return new, jnp.sum(kill), jnp.sum(duplicate), clipped

        source, deficit, _ = rebalance_sources(None, kill, duplicate, words[n:])
        new = gather_units(state, source)
        born = jnp.sum(duplicate)
        if prior == "fill_deficit":
            new = place_newborns(k_prior, k_data, new, deficit, evaluate)
            born = born + jnp.sum(deficit)
        return new, jnp.sum(kill), born, clipped

    options.update(periodic=periodic, equal_weights=True)
    return build_scheme(
        problem, dt, reaction, rate=rate, noise=noise, optimizer=optimizer, transport=transport, reaction_order=1,
        **options,
    )  # fmt: skip
