"""Databases and entries: ``db create/open/ls/info/close``, ``add``, ``put``, ``get``, ``del``, ``query``…"""

from __future__ import annotations

import json
from typing import Any

import click

from orbitstore.api import DatabaseInfo, Item, Page
from orbitstore.cli._common import CONTEXT, connect, emit, options, parse_json, run, show, wire

__all__ = ["add", "db", "delete", "get", "heads", "iterate", "put", "query", "subscribe"]


def _database_line(info: DatabaseInfo) -> str:
    state = "open" if info.is_open else "closed"
    return f"{info.address}  {info.type:<9}  {state:<6}  {info.name}"


def _item_line(item: Item) -> str:
    key = "" if item.key is None else f"{show(item.key)}  "
    return f"{item.hash}  {key}{show(item.value)}"


@click.group(context_settings=CONTEXT)
def db() -> None:
    """Create, open, list, inspect and close databases.

    \b
    Example:
      orbitstore db create notes --type events
      orbitstore db ls
    """


@db.command("create", context_settings=CONTEXT)
@click.argument("name")
@click.option("--type", "type_", required=True, help="events, keyvalue, documents or dataset", metavar="TYPE")
@click.option(
    "--access", type=click.Choice(["ipfs", "orbitdb", "dataset"]), default=None,
    help="access controller: ipfs (fixed writers; the default), orbitdb (grant/revoke) or dataset (causal "
    "grant/revoke in the log; the default for datasets)",
)  # fmt: skip
@click.option("--write", "writers", multiple=True, metavar="ID", help="an identity id allowed to write (repeat)")
@click.option("--meta", default=None, metavar="JSON", help="the manifest's meta value")
@click.option("--index-by", default=None, metavar="FIELD", help="documents: the key field (default _id)")
@run
async def create(
    name: str, type_: str, access: str | None, writers: tuple[str, ...], meta: str | None, index_by: str | None
) -> None:
    """Create the database NAME (or open it, when it exists); print its address.

    \b
    Example:
      orbitstore db create notes --type events
      orbitstore db create team --type keyvalue --access orbitdb
      orbitstore db create people --type documents --index-by id
      orbitstore db create patients --type dataset
    """
    controller: dict[str, Any] | None = None
    if access is not None or writers:
        controller = {"type": access} if access is not None else {}
        if writers:
            controller["write"] = list(writers)
    meta_value = parse_json(meta, "--meta") if meta is not None else None
    async with connect() as api:
        info = await api.create(name, type=type_, access_controller=controller, meta=meta_value, index_by=index_by)
    emit(info, lambda i: i.address)


@db.command("open", context_settings=CONTEXT)
@click.argument("address")
@run
async def open_(address: str) -> None:
    """Open a database by ADDRESS (its manifest must be reachable) and remember it.

    \b
    Example:
      orbitstore db open /orbitdb/zdpuAn26ookFToGNmpVHgEM71YMULiyS8mAs9UQtV1g6eEyRP
    """
    async with connect() as api:
        info = await api.open(address)
    emit(info, _database_line)


@db.command("ls", context_settings=CONTEXT)
@run
async def ls() -> None:
    """List the databases this node knows (address, type, open or closed, name).

    \b
    Example:
      orbitstore db ls --json
    """
    async with connect() as api:
        found = await api.databases()
    emit(found, lambda items: "\n".join(_database_line(i) for i in items) or "no databases yet")


@db.command("info", context_settings=CONTEXT)
@click.argument("db_ref", metavar="DB")
@run
async def info(db_ref: str) -> None:
    """Show a database: address, manifest, heads, access controller.

    DB is an address, a manifest hash, or the name of a known database.

    \b
    Example:
      orbitstore db info notes
    """
    async with connect() as api:
        about = await api.open(db_ref)
        manifest = await api.manifest(about.address)
        head_list = await api.heads(about.address)
        access = await api.access(about.address)
    result = {"database": about.to_wire(), "manifest": wire(manifest), "heads": head_list, "access": access.to_wire()}

    def human(_: Any) -> str:
        caps = ", ".join(f"{k}: {len(v)}" for k, v in access.capabilities.items())
        return "\n".join(
            [
                f"address   {about.address}",
                f"name      {about.name}",
                f"type      {about.type}",
                f"access    {access.type} ({'mutable' if access.mutable else 'fixed'}; {caps})",
                f"heads     {', '.join(head_list) or '-'}",
                f"manifest  {show(manifest)}",
            ]
        )

    emit(result, human)


@db.command("close", context_settings=CONTEXT)
@click.argument("db_ref", metavar="DB")
@run
async def close(db_ref: str) -> None:
    """Close a database (it stays known).

    \b
    Example:
      orbitstore --api http://127.0.0.1:5101 db close notes
    """
    async with connect() as api:
        await api.close(db_ref)
    emit({"closed": True}, "closed")


@click.command(context_settings=CONTEXT)
@click.argument("db_ref", metavar="DB")
@click.argument("value")
@click.option("--text", is_flag=True, help="take VALUE as text, not JSON")
@run
async def add(db_ref: str, value: str, text: bool) -> None:
    """Append VALUE (JSON; - reads stdin) to an events database; print the entry hash.

    \b
    Example:
      orbitstore add notes '{"text": "hello"}'
      orbitstore add notes --text 'hello'
    """
    parsed = parse_json(value, "VALUE", as_text=text)
    async with connect() as api:
        entry = await api.add(db_ref, parsed)
    emit({"hash": entry}, entry)


@click.command(context_settings=CONTEXT)
@click.argument("db_ref", metavar="DB")
@click.argument("value")
@click.option("--key", default=None, help="keyvalue: the key; dataset: the record id; documents: the index field")
@click.option("--text", is_flag=True, help="take VALUE as text, not JSON")
@run
async def put(db_ref: str, value: str, key: str | None, text: bool) -> None:
    """Put VALUE: under --key (keyvalue), as a document (documents), as record --key's row (dataset).

    \b
    Example:
      orbitstore put settings '"dark"' --key theme
      orbitstore put people '{"_id": "ada", "born": 1815}'
      orbitstore put patients '{"age": 54, "bmi": 27.1}' --key p1
    """
    parsed = parse_json(value, "VALUE", as_text=text)
    async with connect() as api:
        entry = await api.put(db_ref, parsed, key=key)
    emit({"hash": entry}, entry)


@click.command(context_settings=CONTEXT)
@click.argument("db_ref", metavar="DB")
@click.argument("key")
@run
async def get(db_ref: str, key: str) -> None:
    """Print the live value of KEY (events: an entry hash; dataset: a record id).

    \b
    Example:
      orbitstore get settings theme
      orbitstore get notes zdpuAn26ookFToGNmpVHgEM71YMULiyS8mAs9UQtV1g6eEyRP --json
    """
    async with connect() as api:
        item = await api.get(db_ref, key)
    emit(item, lambda i: show(i.value))


@click.command("del", context_settings=CONTEXT)
@click.argument("db_ref", metavar="DB")
@click.argument("key")
@run
async def delete(db_ref: str, key: str) -> None:
    """Delete KEY from a keyvalue, documents or dataset database; print the DEL entry hash.

    \b
    Example:
      orbitstore del settings theme
    """
    async with connect() as api:
        entry = await api.delete(db_ref, key)
    emit({"hash": entry}, entry)


def _condition(text: str) -> tuple[str, Any]:
    field, sep, raw = text.partition("=")
    if not sep or not field:
        raise click.BadParameter(f"{text!r} is not FIELD=VALUE", param_hint="WHERE")
    try:
        return field, json.loads(raw)
    except json.JSONDecodeError:
        return field, raw


@click.command(context_settings=CONTEXT)
@click.argument("db_ref", metavar="DB")
@click.argument("where", nargs=-1, required=True)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="at most this many items")
@run
async def query(db_ref: str, where: tuple[str, ...], limit: int | None) -> None:
    """Items whose value has every FIELD=VALUE given (VALUE as JSON, else text), newest first.

    \b
    Example:
      orbitstore query people city=Oslo age=30
      orbitstore query people city=Oslo --limit 1 --json
    """
    conditions = dict(_condition(w) for w in where)
    async with connect() as api:
        items = await api.query(db_ref, where=conditions, limit=limit)
    emit(items, lambda found: "\n".join(_item_line(i) for i in found) or "no match")


@click.command(context_settings=CONTEXT)
@click.argument("db_ref", metavar="DB")
@click.option("--limit", type=click.IntRange(min=1, max=10_000), default=100, show_default=True, help="page size")
@click.option("--cursor", default=None, help="continue after the page that printed this cursor")
@click.option("--all", "everything", is_flag=True, help="follow cursors to the end")
@run
async def iterate(db_ref: str, limit: int, cursor: str | None, everything: bool) -> None:
    """List live items newest first, a page at a time.

    \b
    Example:
      orbitstore iterate notes --limit 10
      orbitstore iterate notes --limit 10 --cursor e:zdpu...
      orbitstore iterate settings --all --json
    """
    pages: list[Page] = []
    async with connect() as api:
        while True:
            page = await api.iterate(db_ref, limit=limit, cursor=cursor)
            pages.append(page)
            cursor = page.cursor
            if not everything or cursor is None:
                break
    items = [i for p in pages for i in p.items]
    result = {"items": [i.to_wire() for i in items], "cursor": pages[-1].cursor}

    def human(_: Any) -> str:
        lines = [_item_line(i) for i in items]
        if pages[-1].cursor is not None:
            lines.append(f"more: --cursor {pages[-1].cursor}")
        return "\n".join(lines) or "empty"

    emit(result, human)


@click.command(context_settings=CONTEXT)
@click.argument("db_ref", metavar="DB")
@run
async def heads(db_ref: str) -> None:
    """Print the hashes of the log's heads, newest first.

    \b
    Example:
      orbitstore heads notes
    """
    async with connect() as api:
        found = await api.heads(db_ref)
    emit(found, lambda h: "\n".join(h) or "no entries")


@click.command(context_settings=CONTEXT)
@click.argument("db_ref", metavar="DB")
@click.option("--count", type=click.IntRange(min=1), default=None, help="stop after this many changes")
@run
async def subscribe(db_ref: str, count: int | None) -> None:
    """Print changes of DB as they happen, one JSON line each (Ctrl-C stops).

    \b
    Example:
      orbitstore subscribe notes --count 1
    """
    seen = 0
    async with connect() as api, await api.subscribe(db_ref) as changes:
        if not options().json:
            click.echo(f"following {db_ref}", err=True)
        async for change in changes:
            click.echo(json.dumps(change.to_wire(), ensure_ascii=False))
            seen += 1
            if count is not None and seen >= count:
                break
