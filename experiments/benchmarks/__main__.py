"""``python -m experiments.benchmarks``: see :mod:`experiments.benchmarks.run_all`."""

import sys

from experiments.benchmarks.run_all import main

sys.exit(main())
