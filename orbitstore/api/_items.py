"""Live items of any database type, queries over them, and pages with opaque cursors.

Cursors: ``e:<hash>`` for events (the last entry returned: pages stay right
while entries arrive, since new ones come before the first page), ``o:<n>``
otherwise (an offset among live keys or records).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from orbitstore.api import _dataset
from orbitstore.api.errors import InvalidRequest, NotAvailable
from orbitstore.api.models import Item, Page
from orbitstore.databases import Database, Documents, Events, KeyValue
from orbitstore.databases.dataset import Dataset

__all__ = ["items", "page", "query"]


async def items(target: Database) -> AsyncIterator[Item]:
    """Every live item, newest first (a dataset: in its order)."""
    if isinstance(target, Events):
        async for event in target.iterator():
            yield Item(hash=event["hash"], key=None, value=event["value"])
    elif isinstance(target, (KeyValue, Documents)):
        async for item in target.iterator():
            yield Item(hash=item["hash"], key=item["key"], value=item["value"])
    elif isinstance(target, Dataset):
        async for record in _dataset.dataset_items(target):
            yield record
    else:
        raise NotAvailable(target.type, f"iterating {target.type!r} databases")


async def query(target: Database, conditions: Mapping[str, Any], limit: int | None) -> list[Item]:
    """Items whose value is a map holding every condition's field with an equal value."""
    out: list[Item] = []
    async for item in items(target):
        value = item.value
        if isinstance(value, dict) and all(k in value and value[k] == v for k, v in conditions.items()):
            out.append(item)
            if limit is not None and len(out) >= limit:
                break
    return out


def _parse_cursor(target: Database, cursor: str | None) -> tuple[str | None, int]:
    if cursor is None:
        return None, 0
    kind, _, rest = cursor.partition(":")
    if kind == "e" and isinstance(target, Events) and rest:
        return rest, 0
    if kind == "o" and rest.isdigit():
        return None, int(rest)
    raise InvalidRequest(f"malformed cursor {cursor!r}")


async def page(target: Database, *, limit: int, cursor: str | None) -> Page:
    """``limit`` items after ``cursor``, and the cursor of the next page (``None`` after the last)."""
    after_hash, offset = _parse_cursor(target, cursor)
    if isinstance(target, Dataset):
        records, more_records = await _dataset.dataset_page(target, offset=offset, limit=limit)
        return Page(items=tuple(records), cursor=f"o:{offset + limit}" if more_records else None)
    found: list[Item] = []
    skipping = after_hash is not None
    position = 0
    more = False
    async for item in items(target):
        if skipping:
            skipping = item.hash != after_hash
            continue
        position += 1
        if position <= offset:
            continue
        if len(found) == limit:
            more = True
            break
        found.append(item)
    if skipping:
        raise InvalidRequest(f"cursor {cursor!r} names no entry of {target.address}")
    next_cursor: str | None = None
    if more:
        next_cursor = f"e:{found[-1].hash}" if isinstance(target, Events) else f"o:{offset + len(found)}"
    return Page(items=tuple(found), cursor=next_cursor)
