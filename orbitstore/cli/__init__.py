"""The ``orbitstore`` command line (click): :mod:`orbitstore.cli.main`. See ``docs/cli.md``.

Run it as ``orbitstore …`` or ``python -m orbitstore.cli …``.
"""
