"""`python -m benchmarks`: see benchmarks/__init__.py and benchmarks/RESULTS.md."""

import sys

from benchmarks.cli import main

sys.exit(main())
