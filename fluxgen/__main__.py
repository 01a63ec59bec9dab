"""`python -m fluxgen` is the `fluxgen` command."""

from fluxgen.cli import main

main()
