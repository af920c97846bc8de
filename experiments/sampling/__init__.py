"""Sampling-mode studies (issue 13): ``python -m experiments.sampling <study> [--smoke]``.

Studies: ``gaussian`` (Langevin vs birth-death Langevin on a Gaussian target),
``double_well`` (basin equilibration time against the barrier), ``four_modes``
(the SMC-WFR four-mode benchmark with a bandwidth sweep). Results go to
``experiments/results/sampling/<study>/`` as CSV and PNG.
"""
