"""`python -m generator new DEST` / `python -m generator update [DEST]`: the wizard."""

import sys

from generator.wizard import main

sys.exit(main())
