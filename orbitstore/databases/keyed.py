"""The persistent key index shared by ``keyvalue`` and ``documents``.

For each key the index keeps the winning PUT or DEL entry — the one that comes
first walking the log newest first, OrbitDB's rule — so ``get`` never walks the
log. Tombstones (DEL winners) are kept, so a concurrent older PUT that arrives
later cannot resurrect a deleted key. The index records the heads it reflects
(written on close; removed while writes are in flight); when they differ
from the log's on open, it is rebuilt from the log.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from orbitstore.codec import decode, encode
from orbitstore.databases.base import Database
from orbitstore.log import Entry
from orbitstore.storage.base import Storage

__all__ = ["KeyedDatabase", "index_key"]

_HEADS = "m:heads"
_Winner = tuple[str, bool, int, str]  # hash, deleted, clock time, clock id


def index_key(key: Any) -> str:
    """The index slot of a database key (text keys as-is; other DAG-CBOR keys by their bytes)."""
    return "k:" + key if isinstance(key, str) else "c:" + encode(key).hex()


def _operation(entry: Entry) -> tuple[str, Any] | None:
    payload = entry.payload
    if isinstance(payload, dict) and payload.get("op") in ("PUT", "DEL") and "key" in payload:
        return payload["op"], payload["key"]
    return None


class KeyedDatabase(Database):
    """A database whose operations are PUT/DEL by key, with a persistent winner index."""

    index_storage: Storage

    async def setup(self) -> None:
        self._cache: dict[str, _Winner | None] = {}
        self._marked_stale = False  # True once the stored heads marker was removed (see _apply)
        self._values: dict[str, Any] = {}  # slot -> the winning PUT's value, when the index holds it
        # The index keeps each live value too (one read per cold get), unless entries are encrypted:
        # then values stay only in the (encrypted) log.
        self._index_values = getattr(self.log, "encryption", None) is None
        self.index_storage = self.options["index_storage"]
        stored = await self.index_storage.get(_HEADS)
        heads = sorted(h.hash for h in await self.log.heads())
        if stored is None or json.loads(stored) != heads:
            await self.rebuild_index()

    async def rebuild_index(self) -> None:
        """Recompute the index from the whole log (newest first, first op per key wins)."""
        await self.index_storage.clear()
        self._cache.clear()
        self._values.clear()
        seen: set[str] = set()
        async for entry in self.log.traverse():
            op = _operation(entry)
            if op is None:
                continue
            slot = index_key(op[1])
            if slot in seen:
                continue
            seen.add(slot)
            await self._store(slot, (entry.hash, op[0] == "DEL", entry.clock.time, entry.clock.id), entry)
        await self._store_heads()

    async def _store(self, slot: str, winner: _Winner, entry: Entry) -> None:
        self._cache[slot] = winner
        record: list[Any] = list(winner)
        if self._index_values and not winner[1]:
            value = entry.payload.get("value")
            self._values[slot] = value
            record.append(value)
        else:
            self._values.pop(slot, None)
        await self.index_storage.put(slot, encode(record))

    async def _store_heads(self) -> None:
        heads = sorted(h.hash for h in await self.log.heads())
        await self.index_storage.put(_HEADS, json.dumps(heads).encode())
        await self.index_storage.sync()

    async def _winner(self, slot: str) -> _Winner | None:
        if slot in self._cache:
            return self._cache[slot]
        raw = await self.index_storage.get(slot)
        winner: _Winner | None = None
        if raw is not None:
            record = decode(raw, strict=False)
            winner = (record[0], record[1], record[2], record[3])
            if len(record) > 4 and self._index_values:
                self._values[slot] = record[4]
        self._cache[slot] = winner
        return winner

    async def _apply(self, entries: list[Entry]) -> None:
        ties: set[str] = set()
        for entry in entries:
            op = _operation(entry)
            if op is None:
                continue
            slot = index_key(op[1])
            current = await self._winner(slot)
            mine = (entry.hash, op[0] == "DEL", entry.clock.time, entry.clock.id)
            if current is None or (mine[2], mine[3]) > (current[2], current[3]):
                await self._store(slot, mine, entry)
            elif (mine[2], mine[3]) == (current[2], current[3]) and mine[0] != current[0]:
                ties.add(slot)  # a writer's fork at equal clocks: settle it the way traversal does
        for slot in ties:
            async for entry in self.log.traverse():
                op = _operation(entry)
                if op is not None and index_key(op[1]) == slot:
                    await self._store(slot, (entry.hash, op[0] == "DEL", entry.clock.time, entry.clock.id), entry)
                    break
        if not self._marked_stale:
            # The index now runs ahead of its heads marker; the marker is rewritten on close. After
            # a crash the marker and the log's heads differ, and the index is rebuilt on open.
            await self.index_storage.delete(_HEADS)
            self._marked_stale = True

    async def _before_close(self) -> None:
        if self._marked_stale:
            await self._store_heads()
            self._marked_stale = False

    async def _live_value(self, key: Any) -> tuple[bool, Any]:
        """(present, value) of ``key`` — from the index alone when it holds the value."""
        slot = index_key(key)
        winner = await self._winner(slot)
        if winner is None or winner[1]:
            return False, None
        if slot in self._values:
            return True, self._values[slot]
        entry = await self.log.get(winner[0])
        return (True, entry.payload.get("value")) if entry is not None else (False, None)

    async def _live(self, key: Any) -> Entry | None:
        winner = await self._winner(index_key(key))
        if winner is None or winner[1]:
            return None
        return await self.log.get(winner[0])

    async def _live_entries(self) -> AsyncIterator[Entry]:
        """Live PUT winners, newest first — the order OrbitDB's iterator yields keys in."""
        seen: set[str] = set()
        async for entry in self.log.traverse():
            op = _operation(entry)
            if op is None:
                continue
            slot = index_key(op[1])
            if slot in seen:
                continue
            seen.add(slot)
            if op[0] == "PUT":
                yield entry
