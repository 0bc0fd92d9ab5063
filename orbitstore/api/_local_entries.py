"""The entries part of :class:`~orbitstore.api.local.LocalAPI`: add, put, get, delete, query, pages, subscriptions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from orbitstore.api import _dataset, _items
from orbitstore.api._subscription import LocalSubscription
from orbitstore.api._validate import check_int, check_mapping, check_text
from orbitstore.api.errors import InvalidRequest, NotAvailable
from orbitstore.api.models import Item, Page
from orbitstore.api.protocol import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from orbitstore.databases import Database, Documents, Events, KeyValue
from orbitstore.databases.dataset import Dataset
from orbitstore.databases.keyed import KeyedDatabase
from orbitstore.errors import NotFound


class _Entries:
    """Reading and writing the items of a database, whatever its type."""

    _subscriptions: set[LocalSubscription]

    if TYPE_CHECKING:  # provided by the other parts of LocalAPI

        async def _database(self, db: str) -> Database: ...

    async def add(self, db: str, value: Any) -> str:
        """Append ``value`` to an events database."""
        target = await self._database(db)
        if not isinstance(target, Events):
            raise InvalidRequest(f"add needs an events database; {target.address} is {target.type!r} (use put)")
        return await target.add(value)

    async def put(self, db: str, value: Any, *, key: str | None = None) -> str:
        """Set ``key`` (keyvalue) or store the document ``value`` (documents)."""
        target = await self._database(db)
        if isinstance(target, KeyValue):
            return await target.put(check_text(key, "key"), value)
        if isinstance(target, Dataset):
            row = check_mapping(value, "a dataset row")
            return await target.put(check_text(key, "key (the record id)"), row)
        if isinstance(target, Documents):
            if not isinstance(value, dict) or target.index_by not in value:
                raise InvalidRequest(f"a document must be a map with the field {target.index_by!r}")
            if key is not None and value[target.index_by] != key:
                raise InvalidRequest(f"key {key!r} differs from the document's {target.index_by!r}")
            return await target.put(value)
        raise InvalidRequest(f"put needs a keyvalue or documents database; {target.address} is {target.type!r}")

    async def get(self, db: str, key: str) -> Item:
        """The live item ``key`` (the entry hash for events)."""
        target = await self._database(db)
        check_text(key, "key")
        if isinstance(target, Events):
            return Item(hash=key, key=None, value=await target.get(key))
        if isinstance(target, KeyedDatabase):
            entry = await target._live(key)
            if entry is None:
                raise NotFound(f"no key {key!r} in {target.address}")
            return Item(hash=entry.hash, key=entry.payload["key"], value=entry.payload.get("value"))
        if isinstance(target, Dataset):
            return await _dataset.dataset_get(target, key)
        raise NotAvailable(target.type, f"get on {target.type!r} databases")

    async def delete(self, db: str, key: str) -> str:
        """Delete ``key`` (keyvalue, documents)."""
        target = await self._database(db)
        check_text(key, "key")
        if isinstance(target, (KeyValue, Documents, Dataset)):
            return await target.delete(key)
        raise InvalidRequest(f"delete needs a keyvalue, documents or dataset database; {target.address} is events")

    async def query(self, db: str, *, where: Mapping[str, Any], limit: int | None = None) -> list[Item]:
        """Live items whose value contains every ``where`` field with an equal value, newest first."""
        target = await self._database(db)
        conditions = dict(check_mapping(where, "where"))
        if limit is not None:
            check_int(limit, "limit", low=1, high=MAX_PAGE_SIZE)
        return await _items.query(target, conditions, limit)

    async def iterate(self, db: str, *, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None) -> Page:
        """A page of live items, newest first (datasets: in their order); cursors are opaque."""
        target = await self._database(db)
        check_int(limit, "limit", low=1, high=MAX_PAGE_SIZE)
        if cursor is not None:
            check_text(cursor, "cursor", max_length=256)
        return await _items.page(target, limit=limit, cursor=cursor)

    async def subscribe(self, db: str) -> LocalSubscription:
        """Live changes of ``db`` from now on."""
        target = await self._database(db)
        subscription = await LocalSubscription.start(target, on_close=self._subscriptions.discard)
        self._subscriptions.add(subscription)
        return subscription
