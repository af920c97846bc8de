"""An Eulerian solver for the mean-field PDE on a two-dimensional θ.

It solves, for a density ρ on a rectangular grid over θ = (θ₀, θ₁),

.. math::

   ∂_t ρ = ∇·(ρ ∇V) - α (V - \\bar V) ρ + τ Δρ, \\qquad
   V(θ, ρ) = -F(θ) + ∫ K(θ, θ') ρ(dθ'), \\quad \\bar V = ∫ V dρ,

the limit n → ∞ of the particle schemes (α = 0: gradient flow; τ > 0: the
Langevin variant). A grid density is a weighted particle set: cell centres θ_c
with weights w_c = ρ_c·h₀h₁ (h_d the cell width along axis d), so V, ∇V and
E(ρ) come from the problem's own oracle by midpoint quadrature
(``oracle="pairwise"``, O(G²) pairs for G cells).
For units φ = c·φ̂(·, y) (experiment 1), V(y, c) = c·U(y) with
U(y) = -F̂(y) + Σ_y' K̂(y, y') m(y') and m(y) = Σ_c c w_{y,c}, which
``oracle="factorised"`` evaluates in O(N_y² + N_y N_c).

One step of size Δt (``splitting="lie"``, the particle schemes' order; ``"strang"``
is R(Δt/2), T(Δt), R(Δt/2), and ``integrator="heun"`` makes each part second order):

1. **transport** (forward Euler, finite volumes): on the face between cells i
   and i+1 along axis d the velocity is u = -(V_{i+1} - V_i)/h_d and the flux
   u⁺ρ_i^+ + u⁻ρ_{i+1}^- - τ(ρ_{i+1} - ρ_i)/h_d, with ρ^± the cell values
   (first-order upwind) or a minmod / van Leer limited linear reconstruction;
   boundary faces carry no flux, so mass stays in the box;
2. one oracle pass at the transported density ρ*;
3. **reaction**, exact for frozen V: ρ ← ρ* e^{-αΔt(V - V̄)}, rescaled to the
   mass of ρ*; then one more oracle pass so that the state's V, ∇V and E belong
   to its density.

Positivity and the CFL rule: V is affine in ρ, so for any probability density
on the grid every face speed along axis d is bounded by

.. math:: s_d = \\max \\lvert V(θ_{i+1}, δ_θ) - V(θ_i, δ_θ) \\rvert / h_d

over the faces (θ_i, θ_{i+1}) of axis d and the point masses δ_θ at cell
centres. A cell loses at most 2Δt Σ_d (s_d/h_d + τ/h_d²) of its mass per step
(outflow through both of its faces, with ρ^+ + ρ^- = 2ρ_i for the limited
reconstructions), so the density stays non-negative for every t whenever the
Courant number Δt·Σ_d (s_d/h_d + τ/h_d²) ≤ cfl ≤ 1/2.
"""

from mfbd.pde.adaptive import eulerian_adaptive
from mfbd.pde.grid import START_LAWS, Grid, product_density, start_density
from mfbd.pde.oracle import ORACLES, PATHS, GridOracle, grid_oracle, max_dt
from mfbd.pde.scheme import LIMITERS, PDEState, dissipation_rates, eulerian_scheme, solver, transport_rate

__all__ = [
    "Grid",
    "GridOracle",
    "PDEState",
    "LIMITERS",
    "ORACLES",
    "PATHS",
    "START_LAWS",
    "dissipation_rates",
    "eulerian_adaptive",
    "eulerian_scheme",
    "grid_oracle",
    "max_dt",
    "product_density",
    "solver",
    "start_density",
    "transport_rate",
]
