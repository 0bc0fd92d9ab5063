"""The in-process :class:`~orbitstore.api.protocol.Subscription`: a bounded queue fed by a database's callbacks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Self

from orbitstore.api.models import Change, EntryInfo
from orbitstore.databases.base import Database, Update
from orbitstore.errors import OrbitStoreError
from orbitstore.log import Entry

__all__ = ["LocalSubscription", "change_from_update", "entry_info"]

#: Changes a subscriber may fall behind by before it is cut off.
MAX_BACKLOG = 10_000


def entry_info(entry: Entry) -> EntryInfo:
    """The notification view of a log entry."""
    payload = entry.payload
    op = key = value = None
    if isinstance(payload, dict):
        op = payload.get("op") if isinstance(payload.get("op"), str) else None
        key = payload.get("key")
        value = payload.get("value")
    return EntryInfo(hash=entry.hash, op=op, key=key, value=value, writer=entry.identity, clock_time=entry.clock.time)


def change_from_update(address: str, update: Update) -> Change:
    """A database :class:`~orbitstore.databases.Update` as an API :class:`Change`."""
    return Change(kind=update.kind, address=address, entries=tuple(entry_info(e) for e in update.entries))


class LocalSubscription:
    """Changes of one open database, registered at construction (so nothing written after is missed).

    Delivery uses the database's ``on_update`` callback; a watcher task follows
    ``updates()`` only to learn when the database closes, which ends the stream.
    """

    def __init__(self, db: Database, *, on_close: Callable[[LocalSubscription], None] | None = None) -> None:
        self.address = str(db.address)
        self._queue: asyncio.Queue[Change | None] = asyncio.Queue()
        self._overflow = False
        self._closed = False
        self._on_close = on_close
        self._unsubscribe = db.on_update(self._deliver)
        self._watcher = asyncio.create_task(self._watch(db), name=f"subscription-watch {self.address}")

    @classmethod
    async def start(
        cls, db: Database, *, on_close: Callable[[LocalSubscription], None] | None = None
    ) -> LocalSubscription:
        """Subscribe to ``db``; the close watcher is registered when this returns."""
        subscription = cls(db, on_close=on_close)
        await asyncio.sleep(0)  # let the watcher reach db.updates()'s first wait (it registers before it)
        return subscription

    def _deliver(self, update: Update) -> None:
        if self._closed or self._overflow:
            return
        if self._queue.qsize() >= MAX_BACKLOG:
            self._overflow = True
            self._queue.put_nowait(None)
            return
        self._queue.put_nowait(change_from_update(self.address, update))

    async def _watch(self, db: Database) -> None:
        async for _ in db.updates():
            pass
        self._queue.put_nowait(None)

    def end(self) -> None:
        """End the stream from outside (the database or the API is closing)."""
        if not self._closed:
            self._queue.put_nowait(None)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Change:
        if self._closed:
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is None or self._closed:
            overflow = self._overflow
            await self.aclose()
            if overflow:
                raise OrbitStoreError(f"subscriber fell more than {MAX_BACKLOG} changes behind; subscribe again")
            raise StopAsyncIteration
        return item

    async def aclose(self) -> None:
        """Stop receiving changes. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._queue.put_nowait(None)  # wakes a reader waiting in __anext__
        self._unsubscribe()
        self._watcher.cancel()
        await asyncio.wait([self._watcher])  # never re-raises the watcher's cancellation as ours
        if self._on_close is not None:
            self._on_close(self)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"LocalSubscription({self.address!r})"
