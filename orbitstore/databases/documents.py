"""OrbitDB's ``documents`` database: JSON-like documents indexed by a field (spec §7)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from orbitstore.databases.keyed import KeyedDatabase
from orbitstore.errors import DatabaseError, NotFound

__all__ = ["Documents"]


class Documents(KeyedDatabase):
    """``put(doc)`` stores ``doc`` under ``doc[index_by]`` (default ``_id``)."""

    type = "documents"

    @property
    def index_by(self) -> str:
        """The document field used as key (not recorded in the manifest, as in OrbitDB)."""
        return str(self.options.get("index_by", "_id"))

    async def put(self, doc: dict[str, Any]) -> str:
        """Store a document; :class:`DatabaseError` when it lacks the ``index_by`` field."""
        if not isinstance(doc, dict) or self.index_by not in doc:
            raise DatabaseError(f"the document must be a map with the field {self.index_by!r}")
        entry = await self._add_operation({"op": "PUT", "key": doc[self.index_by], "value": doc})
        return entry.hash

    async def delete(self, key: Any) -> str:
        """Delete the document ``key``; :class:`NotFound` when there is no such live document."""
        if await self._live(key) is None:
            raise NotFound(f"no document {key!r} in {self.address}")
        entry = await self._add_operation({"op": "DEL", "key": key, "value": None})
        return entry.hash

    async def get(self, key: Any) -> dict[str, Any] | None:
        """``{hash, key, value}`` of the live document ``key``, or ``None``."""
        entry = await self._live(key)
        if entry is None:
            return None
        return {"hash": entry.hash, "key": entry.payload["key"], "value": entry.payload.get("value")}

    async def query(self, predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """The live documents (values) for which ``predicate`` is true, newest write first."""
        out = []
        async for entry in self._live_entries():
            value = entry.payload.get("value")
            if predicate(value):
                out.append(value)
        return out

    async def iterator(self, *, amount: int = -1) -> AsyncIterator[dict[str, Any]]:
        """``{hash, key, value}`` for live documents, newest write first."""
        if amount == 0:
            return
        count = 0
        async for entry in self._live_entries():
            yield {"hash": entry.hash, "key": entry.payload["key"], "value": entry.payload.get("value")}
            count += 1
            if count == amount:
                return

    async def all(self) -> list[dict[str, Any]]:
        """Every live document, oldest write first."""
        out = [item async for item in self.iterator()]
        out.reverse()
        return out
