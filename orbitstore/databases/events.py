"""OrbitDB's ``events`` database: an append-only list of values (spec §7)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from orbitstore.databases.base import Database
from orbitstore.errors import NotFound

__all__ = ["Events"]


class Events(Database):
    """``add(value)`` writes ``{op: 'ADD', key: null, value}``; reads return ``{hash, value}``."""

    type = "events"

    async def add(self, value: Any) -> str:
        """Append ``value``; returns the entry hash."""
        entry = await self._add_operation({"op": "ADD", "key": None, "value": value})
        return entry.hash

    async def get(self, hash: str) -> Any:
        """The value added by entry ``hash``; :class:`NotFound` if this log has no such entry."""
        entry = await self.log.get(hash)
        if entry is None or not await self.log.has(hash):
            raise NotFound(f"no event {hash} in {self.address}")
        return entry.payload.get("value") if isinstance(entry.payload, dict) else None

    async def iterator(
        self,
        *,
        gt: str | None = None,
        gte: str | None = None,
        lt: str | None = None,
        lte: str | None = None,
        amount: int = -1,
    ) -> AsyncIterator[dict[str, Any]]:
        """``{hash, value}`` newest first, bounded like the log iterator."""
        async for entry in self.log.iterator(gt=gt, gte=gte, lt=lt, lte=lte, amount=amount):
            if isinstance(entry.payload, dict) and entry.payload.get("op") == "ADD":
                yield {"hash": entry.hash, "value": entry.payload.get("value")}

    async def all(self) -> list[dict[str, Any]]:
        """Every event, oldest first."""
        out = [item async for item in self.iterator()]
        out.reverse()
        return out
