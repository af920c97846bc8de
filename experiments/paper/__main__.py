"""``python -m experiments.paper``: see :mod:`experiments.paper`."""

import sys

from experiments.paper import main

sys.exit(main())
