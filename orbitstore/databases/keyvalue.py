"""OrbitDB's ``keyvalue`` database with a persistent index (spec §7)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from orbitstore.databases.keyed import KeyedDatabase
from orbitstore.errors import EncodeError

__all__ = ["KeyValue"]


class KeyValue(KeyedDatabase):
    """``put(key, value)`` → ``{op:'PUT', key, value}``; ``delete(key)`` → ``{op:'DEL', key, value: null}``."""

    type = "keyvalue"

    async def put(self, key: str, value: Any) -> str:
        """Set ``key`` to ``value``; returns the entry hash."""
        if not isinstance(key, str):
            raise EncodeError("keyvalue keys must be text")
        entry = await self._add_operation({"op": "PUT", "key": key, "value": value})
        return entry.hash

    set = put

    async def delete(self, key: str) -> str:
        """Remove ``key`` (a DEL entry is written even if the key is absent, as OrbitDB does)."""
        entry = await self._add_operation({"op": "DEL", "key": key, "value": None})
        return entry.hash

    async def get(self, key: Any) -> Any:
        """The value of ``key``, or ``None`` when it is absent or deleted (index lookup, no log walk)."""
        return (await self._live_value(key))[1]

    async def has(self, key: Any) -> bool:
        """True when ``key`` is present."""
        return (await self._live_value(key))[0]

    async def iterator(self, *, amount: int = -1) -> AsyncIterator[dict[str, Any]]:
        """``{key, value, hash}`` for live keys, newest write first."""
        if amount == 0:
            return
        count = 0
        async for entry in self._live_entries():
            yield {"key": entry.payload["key"], "value": entry.payload.get("value"), "hash": entry.hash}
            count += 1
            if count == amount:
                return

    async def all(self) -> list[dict[str, Any]]:
        """Every live key, oldest write first."""
        out = [item async for item in self.iterator()]
        out.reverse()
        return out
