"""`python -m paperdojo.cli`: the same as the `paperdojo` command."""

import sys

from paperdojo.cli import main

sys.exit(main())
