"""`python -m ferry.cli`: the same CLI as the `ferry` command."""

from ferry.cli import main

main()
