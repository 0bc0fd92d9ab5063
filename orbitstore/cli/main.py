"""The ``orbitstore`` command: the library's methods, one command each, in process or against a daemon.

Every command works on the store in ``--dir`` — through the daemon serving that
directory when one runs (its ``daemon.json`` says where), else in process — or
on the daemon at ``--api URL``. ``--json`` prints machine-readable output.
"""

from __future__ import annotations

from pathlib import Path

import click

import orbitstore
from orbitstore.cli._common import CONTEXT, Options, default_directory
from orbitstore.cli.entries import add, db, delete, get, heads, iterate, put, query, subscribe
from orbitstore.cli.ml import ml
from orbitstore.cli.node import daemon, id_, init
from orbitstore.cli.parts import acl, anchor, export, import_, peers, schema, snapshot, sync, verify

__all__ = ["cli", "main"]


@click.group(context_settings=CONTEXT)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="data directory [env ORBITSTORE_DIR; default ~/.orbitstore]",
)
@click.option("--api", default=None, envvar="ORBITSTORE_API", metavar="URL", help="use the daemon at URL")
@click.option("--token", default=None, envvar="ORBITSTORE_TOKEN", help="the daemon's token [default: from --dir]")
@click.option("--identity", default=None, help="identity name for in-process use [default: the node's]")
@click.option("--local", is_flag=True, help="use the store in --dir directly, even if a daemon serves it")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.version_option(orbitstore.__version__, prog_name="orbitstore")
@click.pass_context
def cli(
    ctx: click.Context,
    directory: Path | None,
    api: str | None,
    token: str | None,
    identity: str | None,
    local: bool,
    as_json: bool,
) -> None:
    """orbitstore: signed, replicated datasets (OrbitDB-compatible) from the command line.

    \b
    Example:
      orbitstore --dir ./data init
      orbitstore --dir ./data db create notes --type events
      orbitstore --dir ./data add notes '{"text": "hello"}'
      orbitstore --dir ./data iterate notes
    """
    ctx.obj = Options(
        directory=directory if directory is not None else default_directory(),
        api=api,
        token=token,
        identity=identity,
        local=local,
        json=as_json,
    )


for _command in (init, id_, daemon, db, add, put, get, delete, query, iterate, heads, subscribe):
    cli.add_command(_command)
for _command in (import_, export, schema, snapshot, anchor, verify, acl, peers, sync, ml):
    cli.add_command(_command)


def main() -> None:
    """Entry point of the ``orbitstore`` script."""
    cli(prog_name="orbitstore")


if __name__ == "__main__":
    main()
