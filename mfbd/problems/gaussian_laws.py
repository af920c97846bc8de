"""Exact Gaussian laws of the sampling dynamics (numpy), the references of the sampling tests.

For a Gaussian target π = N(m_π, Σ), U(θ) = ½(θ - m_π)ᵀΣ⁻¹(θ - m_π), each flow below keeps a
Gaussian law μ = N(m, C), because the field it transports with and the potential it reacts with
are linear and quadratic in θ:

* **Fokker–Planck** (the Wasserstein gradient flow of KL(μ‖π), Langevin), ∂_t μ = ∇·(μ∇U) + Δμ:
  dm/dt = -Σ⁻¹(m - m_π), dC/dt = -Σ⁻¹C - CΣ⁻¹ + 2I.
* **Reaction** ∂_t μ = -α(V - V̄)μ with V(θ) = ½θᵀAθ + bᵀθ: d E_μ[f]/dt = -α Cov_μ(f, V), so
  dm/dt = -αC(Am + b), and the tilt μ e^{-αδt V} adds αδt A to the precision: dC/dt = -αCAC.
  - exact density, V = log(μ/π) (Fisher–Rao flow of KL): A = Σ⁻¹ - C⁻¹, Am + b = Σ⁻¹(m - m_π);
    in closed form log μ_t = e^{-αt} log μ₀ + (1 - e^{-αt}) log π + const.
  - the ``"pde"`` rate with a Gaussian KDE of bandwidth h, V = log(K_h * μ) + U with
    K_h * μ = N(m, C + h²I): A = Σ⁻¹ - (C + h²I)⁻¹, and again Am + b = Σ⁻¹(m - m_π) (the h-terms
    cancel in the mean).

Birth–death Langevin with the KDE reaction in the mean-field limit (n = ∞) therefore obeys

.. math::

   \\dot m = -(I + αC)Σ^{-1}(m - m_π), \\qquad
   \\dot C = -Σ^{-1}C - CΣ^{-1} + 2I - αC[Σ^{-1} - (C + h^2 I)^{-1}]C,

whose stationary covariance is biased by the smoothing: C* ≠ Σ for h > 0 (:func:`kde_stationary_covariance`).
With h = 0 and α = 1 it is the Wasserstein–Fisher–Rao flow of KL, solved in closed form in 1-D
by :func:`wfr_law`. :func:`fokker_planck_step`, :func:`fisher_rao_step`, :func:`lie_step` and
:func:`strang_step` are its exact sub-flows and their splittings (1-D). The particle schemes' own
n = ∞ laws, at the step Δt: :func:`weighted_split_law` (scheme B, exactly Gaussian, d-D) and
:func:`scheme_a_grid_law` (scheme A on a 1-D grid); their distance to the flow is the splitting error.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "fisher_rao_step",
    "fokker_planck_step",
    "kde_langevin_law",
    "kde_langevin_rhs",
    "kde_stationary_covariance",
    "lie_step",
    "scheme_a_grid_law",
    "split_law",
    "strang_step",
    "weighted_split_law",
    "wfr_law",
    "wfr_potential_law",
]


def kde_langevin_rhs(m, C, sigma, alpha, h, m_pi=None):
    """``(dm/dt, dC/dt)`` of birth–death Langevin with the KDE "pde" reaction (module equations), d-D."""
    m, C, sigma = np.asarray(m, float), np.asarray(C, float), np.atleast_2d(np.asarray(sigma, float))
    eye = np.eye(sigma.shape[0])
    P = np.linalg.inv(sigma)
    u = m - (np.zeros_like(m) if m_pi is None else np.asarray(m_pi, float))
    dm = -(eye + alpha * C) @ P @ u
    dC = -P @ C - C @ P + 2 * eye - alpha * C @ (P - np.linalg.inv(C + h * h * eye)) @ C
    return dm, dC


def kde_langevin_law(t, m0, C0, sigma, alpha, h, m_pi=None, steps_per_unit: int = 200):
    """N(m_t, C_t) of :func:`kde_langevin_rhs` from N(m0, C0) at time t (classical RK4
    with ``steps_per_unit`` steps per unit time: error below 1e-10 for the O(1) rates of the tests)."""
    m, C = np.atleast_1d(np.asarray(m0, float)), np.atleast_2d(np.asarray(C0, float))
    steps = max(1, int(np.ceil(t * steps_per_unit)))
    dt = t / steps

    def f(y):
        dm, dC = kde_langevin_rhs(y[0], y[1], sigma, alpha, h, m_pi)
        return dm, 0.5 * (dC + dC.T)

    y = (m, C)
    for _ in range(steps):
        k1 = f(y)
        k2 = f(tuple(a + 0.5 * dt * k for a, k in zip(y, k1, strict=True)))
        k3 = f(tuple(a + 0.5 * dt * k for a, k in zip(y, k2, strict=True)))
        k4 = f(tuple(a + dt * k for a, k in zip(y, k3, strict=True)))
        y = tuple(a + dt / 6 * (p + 2 * q + 2 * r + s) for a, p, q, r, s in zip(y, k1, k2, k3, k4, strict=True))
    return y


def _stationary_variance(s, alpha, h):
    """The root c ∈ (0, s] of 2(1 - c/s) + αc²(1/(c + h²) - 1/s) = 0, i.e. (times s(c + h²)) of
    -αc³ + (αs - αh² - 2)c² + 2(s - h²)c + 2sh² = 0 (positive at 0, ≤ 0 at s: a root in between)."""
    if h == 0 or alpha == 0:
        return float(s)
    h2 = h * h
    roots = np.roots([-alpha, alpha * s - alpha * h2 - 2, 2 * (s - h2), 2 * s * h2])
    real = np.sort(roots[np.abs(roots.imag) <= 1e-10 * max(1.0, s)].real)
    inside = real[(real > 0) & (real <= s * (1 + 1e-12))]
    if inside.size != 1:
        raise ValueError(f"expected one stationary variance in (0, {s}], found {inside}")
    return float(inside[0])


def kde_stationary_covariance(sigma, alpha: float, h: float):
    """The stationary covariance C* of :func:`kde_langevin_rhs` (n = ∞ birth–death Langevin with a KDE of bandwidth h).

    .. math:: 0 = -Σ^{-1}C - CΣ^{-1} + 2I - αC[Σ^{-1} - (C + h^2 I)^{-1}]C .

    Its solution shares Σ's eigenvectors Q: C* = Q diag(c_k) Qᵀ with c_k the root in (0, σ_k] of the
    scalar equation 2(1 - c/σ_k) + αc²(1/(c + h²) - 1/σ_k) = 0 (for σ = 1, α = 1, h = 0.5:
    c = 0.9328). c_k < σ_k for h > 0: the reaction pulls ρ̂ = μ * K_h, not μ, towards π.
    """
    sigma = np.atleast_2d(np.asarray(sigma, float))
    evals, Q = np.linalg.eigh(sigma)
    c = np.array([_stationary_variance(s, alpha, h) for s in evals])
    return (Q * c) @ Q.T


def wfr_law(t, m0, C0, m_pi, C_pi, alpha: float = 1.0):
    """Mean and variance at t of the Wasserstein–Fisher–Rao flow of KL(μ‖π) in 1-D,
    ∂_t μ = ∇·(μ∇U) + Δμ - α(log(μ/π) - KL)μ, π = N(m_π, C_π), from N(m0, C0).

    With u = C - C_π and k = α + 2/C_π, the variance obeys du/dt = -ku - αu²/C_π (a Riccati
    equation, linear in 1/u) and the mean d(m - m_π)/dt = -(1 + αC)(m - m_π)/C_π, so

    .. math::

       C_t = C_π + u_0 r_t, \\qquad r_t = 1/[(1 + c u_0) e^{kt} - c u_0], \\quad c = α/(αC_π + 2),

       m_t = m_π + (m_0 - m_π) e^{t/C_π} r_t .

    For α = 1 this is C_t = C_π + ((1/(C₀ - C_π) + 1/(C_π + 2)) e^{(1 + 2/C_π)t} - 1/(C_π + 2))⁻¹ and
    m_t = m_π + (m₀ - m_π) e^{t/C_π}(C_t - C_π)/(C₀ - C_π) (the form of issue 25; r_t avoids the
    0/0 at C₀ = C_π). ``t`` may be an array.
    """
    t = np.asarray(t, float)
    u0 = C0 - C_pi
    k = alpha + 2.0 / C_pi
    cu = alpha / (alpha * C_pi + 2.0) * u0
    r = 1.0 / ((1.0 + cu) * np.exp(k * t) - cu)
    return m_pi + (m0 - m_pi) * np.exp(t / C_pi) * r, C_pi + u0 * r


def wfr_potential_law(t, m0, C0, s: float, alpha: float):
    """Mean and variance at t of the deterministic WFR flow of the potential energy ∫U dμ in 1-D,
    ∂_t μ = ∇·(μ∇U) - α(U - Ū)μ with U(θ) = θ²/(2s), from N(m0, C0): the mean-field law of gradient
    flow (α = 0) and scheme B on the non-interacting problem V = U, no diffusion.

    By the reaction rule of the module docstring (A = 1/s, b = 0) with transport by ∇U = θ/s,
    dm/dt = -(1 + αC)m/s and dC/dt = -2C/s - αC²/s; 1/C is then linear, so

    .. math::

       C_t = 1/[(1/C_0 + α/2) e^{2t/s} - α/2], \\qquad
       m_t = m_0 e^{-t/s} / [1 + \\tfrac{αC_0}{2}(1 - e^{-2t/s})] .

    E(μ_t) = (m_t² + C_t)/(2s). ``t`` may be an array.
    """
    t = np.asarray(t, float)
    decay = np.exp(-2.0 * t / s)
    C = 1.0 / ((1.0 / C0 + alpha / 2) / decay - alpha / 2)
    return m0 * np.sqrt(decay) / (1.0 + alpha * C0 / 2 * (1.0 - decay)), C


def fokker_planck_step(m, C, tau, m_pi, C_pi):
    """The exact Fokker–Planck (W) flow over time τ in 1-D (the Ornstein–Uhlenbeck law):
    m ← m_π + e^{-τ/C_π}(m - m_π), C ← C_π + e^{-2τ/C_π}(C - C_π)."""
    decay = np.exp(-tau / C_pi)
    return m_pi + decay * (m - m_pi), C_pi + decay**2 * (C - C_pi)


def fisher_rao_step(m, C, tau, m_pi, C_pi, alpha: float = 1.0):
    """The exact Fisher–Rao (FR) flow of KL over time τ in 1-D, log μ ← e^{-ατ} log μ + (1 - e^{-ατ}) log π:
    precision 1/C ← e^{-ατ}/C + (1 - e^{-ατ})/C_π, and C⁻¹m likewise."""
    keep = np.exp(-alpha * tau)
    precision = keep / C + (1 - keep) / C_pi
    return (keep * m / C + (1 - keep) * m_pi / C_pi) / precision, 1.0 / precision


def lie_step(m, C, tau, m_pi, C_pi, alpha: float = 1.0):
    """FR(τ) ∘ W(τ): transport first, then the reaction (the particle schemes' order)."""
    m, C = fokker_planck_step(m, C, tau, m_pi, C_pi)
    return fisher_rao_step(m, C, tau, m_pi, C_pi, alpha)


def strang_step(m, C, tau, m_pi, C_pi, alpha: float = 1.0):
    """FR(τ/2) ∘ W(τ) ∘ FR(τ/2) (``splitting="strang"``)."""
    m, C = fisher_rao_step(m, C, tau / 2, m_pi, C_pi, alpha)
    m, C = fokker_planck_step(m, C, tau, m_pi, C_pi)
    return fisher_rao_step(m, C, tau / 2, m_pi, C_pi, alpha)


def split_law(t, steps: int, splitting: str, m0, C0, m_pi, C_pi, alpha: float = 1.0):
    """Mean and variance after ``steps`` exact split steps of τ = t/steps (``"lie"`` or ``"strang"``):
    the n = ∞, h = 0 law of a split particle scheme with exact sub-flows; its error against
    :func:`wfr_law` is O(τ) for Lie, O(τ²) for Strang."""
    one = {"lie": lie_step, "strang": strang_step}[splitting]
    m, C = float(m0), float(C0)
    for _ in range(steps):
        m, C = one(m, C, t / steps, m_pi, C_pi, alpha)
    return m, C


def weighted_split_law(t, steps: int, m0, C0, sigma, alpha: float, h: float, m_pi=None):
    """N(m, C) after ``steps`` Lie steps of Δt = t/steps of the weighted scheme (scheme B, ``"pde"`` rate,
    KDE bandwidth h) at n = ∞, d-D: the Euler–Maruyama push-forward θ ← θ - ΔtΣ⁻¹(θ - m_π) + √(2Δt)ξ,

    .. math:: m ← m - ΔtΣ^{-1}(m - m_π), \\qquad C ← (I - ΔtΣ^{-1})C(I - ΔtΣ^{-1}) + 2Δt I,

    then the frozen-V tilt μ ← μ e^{-αΔt V}/Z with V = log(K_h * μ) + U quadratic (module docstring),
    which adds αΔt A to the precision: P = C⁻¹ + αΔt[Σ⁻¹ - (C + h²I)⁻¹], m ← m - αΔt P⁻¹Σ⁻¹(m - m_π).
    Both maps are exact for Gaussians, so this is the scheme's law with no error but the step's own;
    its distance to :func:`kde_langevin_law` is the splitting (and Euler–Maruyama) error, O(Δt)."""
    m, C = np.atleast_1d(np.asarray(m0, float)), np.atleast_2d(np.asarray(C0, float))
    sigma = np.atleast_2d(np.asarray(sigma, float))
    P_pi, eye = np.linalg.inv(sigma), np.eye(sigma.shape[0])
    m_pi = np.zeros_like(m) if m_pi is None else np.asarray(m_pi, float)
    dt = t / steps
    drift = eye - dt * P_pi
    for _ in range(steps):
        m, C = m - dt * P_pi @ (m - m_pi), drift @ C @ drift.T + 2 * dt * eye
        P = np.linalg.inv(C) + alpha * dt * (P_pi - np.linalg.inv(C + h * h * eye))
        m, C = m - alpha * dt * np.linalg.solve(P, P_pi @ (m - m_pi)), np.linalg.inv(P)
        C = 0.5 * (C + C.T)
    return m, C


def scheme_a_grid_law(dt, steps, h, alpha=1.0, m0=3.0, v0=0.25, sigma=1.0, x=None):
    """The n = ∞ law of one Lie step of birth–death Langevin (scheme A, centred exp rates, rebalance),
    iterated on a 1-D grid: Euler–Maruyama μ ← ∫ N(·; θ - Δt U'(θ), 2Δt) μ(dθ), then
    μ ← μ (1 - p_kill + p_dup)/Z with p = 1 - e^{-αΔt|β|}, β = V - V̄, V = log(K_h * μ) + U.
    No Gaussian assumption (the reference of scheme A, whose kill/duplicate factor 2 - e^{-αΔt|β|} for
    β < 0 is not the tilt e^{-αΔtβ}). Returns the ``[steps, 2]`` mean and variance after every step."""
    x = np.linspace(-7, 7, 401) if x is None else x
    dx = x[1] - x[0]
    U = 0.5 * x**2 / sigma
    drift = x - dt * x / sigma
    em = np.exp(-((x[:, None] - drift[None, :]) ** 2) / (4 * dt)) * dx / np.sqrt(4 * np.pi * dt)
    kde = np.exp(-((x[:, None] - x[None, :]) ** 2) / (2 * h * h)) * dx / np.sqrt(2 * np.pi * h * h)
    p = np.exp(-0.5 * (x - m0) ** 2 / v0)
    p /= p.sum() * dx
    moments = []
    for _ in range(steps):
        p = em @ p
        V = np.log(kde @ p) + U
        beta = V - np.sum(p * V) * dx
        q = -np.expm1(-alpha * dt * np.abs(beta))
        p = p * np.where(beta > 0, 1 - q, 1 + q)
        p /= p.sum() * dx
        mean = np.sum(x * p) * dx
        moments.append((mean, np.sum((x - mean) ** 2 * p) * dx))
    return np.array(moments)
