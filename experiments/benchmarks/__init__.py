"""Benchmarks of mfbd: ratios against baselines measured in the same process.

Run them all with ``python -m experiments.benchmarks`` (see README.md here).
"""
