"""Allow ``python -m vpsbench``."""

import sys

from vpsbench.cli import main

sys.exit(main())
