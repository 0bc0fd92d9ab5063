"""What a replicator tells while it runs: its counters, its progress events and its change notification."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import fields

from orbitstore.sync.events import Progress, SyncStats

__all__ = ["ProgressCallback", "Signals"]

ProgressCallback = Callable[[Progress], Awaitable[None] | None]

_PROGRESS_QUEUE = 1024


class Signals:
    """The counters (:class:`SyncStats`), the progress observers, and an event set at every change of state."""

    def __init__(self) -> None:
        self._counts = dict.fromkeys((f.name for f in fields(SyncStats)), 0)
        self._callbacks: list[ProgressCallback] = []
        self._queues: set[asyncio.Queue[Progress | None]] = set()
        self._changed_event = asyncio.Event()

    def count(self, name: str, amount: int = 1) -> None:
        self._counts[name] += amount

    def stats(self) -> SyncStats:
        return SyncStats(**self._counts)

    @property
    def changed_event(self) -> asyncio.Event:
        """The event the next :meth:`changed` sets (a new one after every change)."""
        return self._changed_event

    def changed(self) -> None:
        self._changed_event.set()
        self._changed_event = asyncio.Event()

    async def emit(self, event: Progress) -> None:
        for queue in list(self._queues):
            if queue.full():
                self.count("progress_dropped")
            else:
                queue.put_nowait(event)
        for callback in list(self._callbacks):
            result = callback(event)
            if inspect.isawaitable(result):
                await result

    def on_progress(self, callback: ProgressCallback) -> Callable[[], None]:
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback) if callback in self._callbacks else None

    async def progress(self, closed: Callable[[], bool]) -> AsyncIterator[Progress]:
        queue: asyncio.Queue[Progress | None] = asyncio.Queue(_PROGRESS_QUEUE)
        self._queues.add(queue)
        try:
            while not closed():
                item = await queue.get()
                if item is None:
                    return
                yield item
        finally:
            self._queues.discard(queue)

    def close(self) -> None:
        """End every :meth:`progress` iterator."""
        for queue in list(self._queues):
            queue.put_nowait(None)
