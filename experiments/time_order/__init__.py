"""Order in time of scheme B and of the Eulerian PDE solver on experiment 1 at α = 5.

Run ``python -m experiments.time_order`` (``--smoke`` for a smaller grid);
results land in ``experiments/results/time_order/``.
"""
