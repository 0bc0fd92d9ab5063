"""``python -m orbitstore.cli``: the ``orbitstore`` command."""

from orbitstore.cli.main import main

main()
