"""``python -m experiments.pde``: see :mod:`experiments.pde`."""

import sys

from experiments.pde import main

sys.exit(main())
