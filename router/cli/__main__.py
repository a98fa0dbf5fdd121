"""`python -m router.cli`: the same command line as `dispute-router`."""

import sys

from router.cli import main

sys.exit(main())
