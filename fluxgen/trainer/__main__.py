"""Entry point of `python -m fluxgen.trainer`."""

import sys

from fluxgen.trainer.cli import main

sys.exit(main())
