"""Digits (8×8, 10 classes) with softmax cross-entropy: gradient descent against four other dynamics.

A two-layer ReLU network in the mean-field scaling, f_μ(x) = Σ_i w_i c_i relu(z_i·x̃),
trained on 1 500 images and tested on the 297 others (:func:`mfbd.problems.digits`).
Run from the repository root (about a minute on 2 CPU cores)::

    python -m examples.digits
"""

from __future__ import annotations

import time

import jax

import mfbd
from mfbd.problems import classification_observer, digits

DYNAMICS = {
    "gradient descent": lambda p, dt: mfbd.gradient_flow(p, dt),
    "birth-death": lambda p, dt: mfbd.birth_death(p, dt, alpha=0.1),
    "reweighting": lambda p, dt: mfbd.reweighting(p, dt, alpha=0.1),
    "conic": lambda p, dt: mfbd.conic(p, dt, alpha=0.1),
    "MF Langevin": lambda p, dt: mfbd.gradient_flow(p, dt, noise=mfbd.schemes.logarithmic(1e-4)),
}
# α = 1 (αΔt = 0.5 per step) breaks birth-death and reweighting here (train loss 1.5 and 1.8e5 after 400 steps);
# α = 0.1 does not (experiments/README.md, digits study).


def main(n: int = 100, dt: float = 0.5, steps: int = 400) -> None:
    problem = digits()
    e = problem.extras
    start = problem.init_particles(jax.random.key(0), n)
    print(f"{'dynamics':>16}  train loss  test accuracy  wall")
    for name, make in DYNAMICS.items():
        scheme = make(problem, dt)
        observe = classification_observer(problem, e["x_test"], e["y_test"], conic=name == "conic")
        t0 = time.perf_counter()
        _, trace = mfbd.simulate(jax.random.key(1), scheme, scheme.init(start), steps, record_every=steps,
                                 observe=observe)  # fmt: skip
        wall = time.perf_counter() - t0
        loss, accuracy = float(trace["energy"][-1]), float(trace["test_accuracy"][-1])
        print(f"{name:>16}  {loss:10.4f}  {accuracy:13.3f}  {wall:.1f} s")


if __name__ == "__main__":
    main()
