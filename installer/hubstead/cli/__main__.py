"""`python -m hubstead.cli`: the same as the `hubstead` command (used by benchmarks/cli.py)."""

from . import main

main()
