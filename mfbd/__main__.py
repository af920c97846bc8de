"""``python -m mfbd``: the same as the ``mfbd`` command."""

import sys

from mfbd.cli import main

sys.exit(main())
