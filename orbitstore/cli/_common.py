"""What every command shares: options, connecting (in process or to a daemon), output, errors."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from orbitstore.api import LocalAPI, StoreAPI
from orbitstore.api._anchoring import Anchoring
from orbitstore.api.errors import NotAvailable
from orbitstore.api.jsonvalues import to_json
from orbitstore.errors import OrbitStoreError, StorageError

__all__ = [
    "CONTEXT",
    "Options",
    "connect",
    "default_directory",
    "emit",
    "options",
    "parse_json",
    "run",
    "show",
    "wire",
]

CONTEXT: dict[str, Any] = {"help_option_names": ["-h", "--help"], "terminal_width": 100, "max_content_width": 100}

P = ParamSpec("P")
T = TypeVar("T")


def default_directory() -> Path:
    """``$ORBITSTORE_DIR``, else ``~/.orbitstore``."""
    env = os.environ.get("ORBITSTORE_DIR")
    return Path(env) if env else Path.home() / ".orbitstore"


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """The global options, kept on the click context."""

    directory: Path
    api: str | None
    token: str | None
    identity: str | None
    local: bool
    json: bool


def options() -> Options:
    """The global options of the running command."""
    ctx = click.get_current_context()
    found = ctx.find_object(Options)
    if found is None:  # a command invoked on its own (tests): defaults
        found = Options(directory=default_directory(), api=None, token=None, identity=None, local=False, json=False)
    return found


@asynccontextmanager
async def connect() -> AsyncIterator[StoreAPI]:
    """The API to use: a daemon (``--api``, or the one serving ``--dir``), else the store in ``--dir``."""
    from orbitstore.daemon.auth import read_token
    from orbitstore.daemon.client import DaemonClient
    from orbitstore.daemon.server import read_api_file

    opts = options()
    url = opts.api
    if url is None and not opts.local:
        url = read_api_file(opts.directory)
    if url is not None:
        token = opts.token or read_token(opts.directory)
        if token is None:
            raise click.ClickException(
                f"no token for {url}: pass --token, or --dir pointing at the daemon's data directory"
            )
        async with DaemonClient(url, token=token) as client:
            yield client
        return
    import orbitstore

    try:
        store = await orbitstore.open(opts.directory, identity=opts.identity)
    except StorageError as exc:
        raise click.ClickException(
            f"{exc}\n(is a daemon using {opts.directory}? run it, then commands reach it through --api or its "
            "daemon.json)"
        ) from None
    try:
        anchoring = await Anchoring.open(store)
    except BaseException:
        await store.aclose()
        raise
    async with LocalAPI(store, owns_store=True, anchoring=anchoring) as api:
        yield api


def run(fn: Callable[P, Awaitable[T]]) -> Callable[P, T]:
    """Run an async command body; orbitstore errors become :class:`click.ClickException`."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return asyncio.run(fn(*args, **kwargs))  # type: ignore[arg-type]
        except NotAvailable as exc:
            raise click.ClickException(str(exc)) from None
        except OrbitStoreError as exc:
            raise click.ClickException(f"{type(exc).__name__}: {exc}") from None

    return wrapper


def wire(value: Any) -> Any:
    """A result as JSON-able data (models by their wire form, values in DAG-JSON form)."""
    to_wire = getattr(value, "to_wire", None)
    if callable(to_wire):
        return to_wire()
    if isinstance(value, list):
        return [wire(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): wire(v) for k, v in value.items()}
    return to_json(value)


def emit(value: Any, human: Callable[[Any], str] | str | None = None) -> None:
    """Print ``value``: as JSON with ``--json`` (or when no human form is given), else its human form."""
    if human is None or options().json:
        click.echo(json.dumps(wire(value), indent=2, ensure_ascii=False))
    elif isinstance(human, str):
        click.echo(human)
    else:
        click.echo(human(value))


def parse_json(text: str, what: str, *, as_text: bool = False) -> Any:
    """``text`` parsed as JSON (``-`` reads stdin); with ``as_text``, the text itself."""
    from orbitstore.api.jsonvalues import from_json

    if text == "-":
        text = sys.stdin.read()
    if as_text:
        return text
    try:
        return from_json(json.loads(text))
    except json.JSONDecodeError:
        raise click.BadParameter(
            f"{what} must be JSON (quote text as '\"hello\"', or pass --text)", param_hint=what
        ) from None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=what) from None


def show(value: Any) -> str:
    """A value on one line, as compact JSON."""
    return json.dumps(to_json(value), ensure_ascii=False, separators=(",", ":"))
