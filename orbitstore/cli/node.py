"""The node itself: ``init``, ``id`` and ``daemon``."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import click

import orbitstore
from orbitstore.cli._common import CONTEXT, connect, emit, options, run
from orbitstore.daemon.config import DEFAULT_HOST, DEFAULT_MAX_BODY, DEFAULT_PORT, DaemonConfig
from orbitstore.errors import OrbitStoreError

__all__ = ["daemon", "id_", "init"]


@click.command(context_settings=CONTEXT)
@run
async def init() -> None:
    """Create the data directory, the node identity and the daemon token (mode 0600).

    \b
    Example:
      orbitstore --dir ./data init
    """
    from orbitstore.daemon.auth import TOKEN_FILE, load_or_create_token

    opts = options()
    async with orbitstore.open(opts.directory, identity=opts.identity) as store:
        identity = store.identity
    load_or_create_token(opts.directory)
    result = {"directory": str(opts.directory), "identity_id": identity.id, "token_file": TOKEN_FILE}
    emit(result, f"initialised {opts.directory}\nidentity {identity.id}")


@click.command("id", context_settings=CONTEXT)
@run
async def id_() -> None:
    """Show this node's identity, version, storage and available features.

    \b
    Example:
      orbitstore id --json
    """
    async with connect() as api:
        node = await api.node()

    def human(_: object) -> str:
        on = ", ".join(k for k, v in node.features.items() if v)
        off = ", ".join(k for k, v in node.features.items() if not v)
        return "\n".join(
            [
                f"identity  {node.identity_id}",
                f"key       {node.public_key}",
                f"hash      {node.identity_hash}",
                f"version   {node.version} ({node.storage} storage)",
                f"features  {on}" + (f"  (not available yet: {off})" if off else ""),
                *([f"sync      direct path on {node.sync_endpoint}"] if node.sync_endpoint else []),
            ]
        )

    emit(node, human)


@click.command(context_settings=CONTEXT)
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="address to bind (keep it on loopback)")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535), help="0: any free")
@click.option("--kubo", default=None, metavar="URL|spawn", help="keep blocks in Kubo at URL, or in a spawned node")
@click.option(
    "--durability", type=click.Choice(["batch", "durable"]), default="batch", show_default=True,
    help="embedded store commits (see docs/storage.md)",
)  # fmt: skip
@click.option("--max-body", default=DEFAULT_MAX_BODY, show_default=True, help="largest JSON body in bytes")
@click.option("--print-token-url", is_flag=True, help="print the web page URL with the token in its #fragment")
@click.option("--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning"]))
@click.option("--peer", "peers", multiple=True, metavar="HOST:PORT", help="pull from this peer's direct path (repeat)")
@click.option(
    "--direct-port", default=0, show_default=True, type=click.IntRange(0, 65535), help="direct path port (0: any free)"
)
@click.option("--no-sync", is_flag=True, help="do not replicate")
def daemon(
    host: str,
    port: int,
    kubo: str | None,
    durability: str,
    max_body: int,
    print_token_url: bool,
    log_level: str,
    peers: tuple[str, ...],
    direct_port: int,
    no_sync: bool,
) -> None:
    """Run the peer daemon: HTTP API, web page, metrics; SIGTERM drains and flushes.

    The bearer token is kept in <dir>/daemon-token (mode 0600); while the
    daemon runs, other commands on the same --dir go through it.

    Every open database is replicated: with --kubo over Kubo pubsub and
    bitswap; without it on the direct path, listening on 127.0.0.1 (the
    endpoint is printed and in `orbitstore id`) and pulling from each --peer.
    Both sides list each other to replicate both ways.

    \b
    Example:
      orbitstore --dir ./data daemon --port 5101
      orbitstore --dir ./data daemon --kubo spawn
      orbitstore --dir ./data daemon --kubo http://127.0.0.1:5001
      orbitstore --dir ./b daemon --port 5102 --peer 127.0.0.1:4711
    """
    from orbitstore.daemon.logs import configure_logging
    from orbitstore.daemon.server import Daemon, serve

    opts = options()
    configure_logging(level=getattr(logging, log_level.upper()))
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"warning: binding {host} exposes the API beyond this machine", err=True)
    try:
        config = DaemonConfig(
            directory=opts.directory,
            host=host,
            port=port,
            identity=opts.identity,
            kubo=kubo,
            durability=durability,
            max_body=max_body,
            sync=not no_sync,
            peers=peers,
            direct_port=direct_port,
        )
    except OrbitStoreError as exc:
        raise click.ClickException(str(exc)) from None

    def ready(running: Daemon) -> None:
        click.echo(f"orbitstore daemon listening on {running.url}")
        if print_token_url:
            click.echo(f"web page: {running.url}/#token={running.token}")
        else:
            click.echo(f"web page: {running.url}/  (token in {Path(opts.directory) / 'daemon-token'})")
        sync = running.api.sync if running.api is not None else None
        if sync is not None:
            click.echo(f"replication: {sync.mode}, direct path on {sync.endpoint or '-'}")

    try:
        asyncio.run(serve(config, on_ready=ready))
    except OrbitStoreError as exc:
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from None
    except OSError as exc:
        raise click.ClickException(f"cannot serve on {host}:{port}: {exc}") from None
    click.echo("orbitstore daemon stopped")
