"""Evidence a referee accepts (issue 21): time-to-target in three units, the Δt ladder, the late-time rates.

Run ``python -m experiments.evidence {speedup,dt-ladder,rates,meanfield} [--seeds S] [--smoke]``;
results go to ``experiments/results/evidence/``.
"""
