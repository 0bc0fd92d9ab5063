"""What every database type shares: a log, its access controller, operations and update notifications."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from orbitstore.databases.manifest import Address, Manifest
from orbitstore.errors import DatabaseError
from orbitstore.log import BlockFetcher, Entry, Log
from orbitstore.log.access import AccessController

if TYPE_CHECKING:
    from orbitstore.store import OrbitStore

__all__ = ["Database", "Update", "UpdateCallback"]


@dataclass(frozen=True, slots=True)
class Update:
    """A change to a database: ``kind`` is ``"update"`` (local write) or ``"join"`` (from a peer)."""

    kind: str
    entries: tuple[Entry, ...]


UpdateCallback = Callable[[Update], Awaitable[None] | None]


class Database:
    """A named, addressed log with a type-specific view. Open through :meth:`OrbitStore.open`."""

    type: ClassVar[str] = ""
    #: The access controller a new database of this type gets when none is given.
    default_access_controller: ClassVar[str] = "ipfs"

    def __init__(
        self,
        *,
        store: OrbitStore,
        manifest: Manifest,
        log: Log,
        access: AccessController,
        references_count: int,
        options: dict[str, Any],
    ) -> None:
        self.store = store
        self.manifest = manifest
        self.address: Address = manifest.address
        self.log = log
        self.access = access
        self.references_count = references_count
        self.options = options
        self._lock = asyncio.Lock()
        self._subscribers: set[asyncio.Queue[Update | None]] = set()
        self._callbacks: list[UpdateCallback] = []
        self._closed = False

    # -- identity of the database ----------------------------------------------------------------

    @property
    def name(self) -> str:
        """The name given at creation."""
        return self.manifest.name

    @property
    def meta(self) -> Any:
        """The manifest's ``meta`` value, or ``None``."""
        return self.manifest.meta if self.manifest.has_meta else None

    @property
    def identity(self) -> Any:
        """The identity this node writes with."""
        return self.log.identity

    async def setup(self) -> None:
        """Hook run once after construction (build or check indexes)."""

    # -- writing ---------------------------------------------------------------------------------

    async def _add_operation(self, payload: dict[str, Any]) -> Entry:
        self._check_open()
        async with self._lock:
            await self._before_append(payload)
            entry = await self.log.append(payload, references_count=self.references_count)
            await self._apply([entry])
        await self._notify(Update("update", (entry,)))
        return entry

    async def _before_append(self, payload: dict[str, Any]) -> None:
        """Hook: validate an operation before it is signed (schemas, …)."""

    async def join_entry(self, entry: Entry, *, fetch: BlockFetcher | None = None) -> list[Entry]:
        """Join a head from a peer (with its missing history); returns the new entries."""
        self._check_open()
        async with self._lock:
            added = await self.log.join_entries(entry, fetch=fetch)
            if added:
                await self._apply(added)
        if added:
            await self._notify(Update("join", tuple(added)))
        return added

    async def _apply(self, entries: list[Entry]) -> None:
        """Hook: update indexes with new entries (parents first)."""

    # -- reading ---------------------------------------------------------------------------------

    async def heads(self) -> list[Entry]:
        """The log's heads, newest first."""
        return await self.log.heads()

    # -- notifications ---------------------------------------------------------------------------

    def on_update(self, callback: UpdateCallback) -> Callable[[], None]:
        """Call ``callback(update)`` after every change; returns a function that unsubscribes."""
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback) if callback in self._callbacks else None

    async def updates(self) -> AsyncIterator[Update]:
        """Every change from now on, as an async iterator (ends when the database closes)."""
        queue: asyncio.Queue[Update | None] = asyncio.Queue()
        self._subscribers.add(queue)
        try:
            while True:
                item = await queue.get()
                if item is None:
                    return
                yield item
        finally:
            self._subscribers.discard(queue)

    async def _notify(self, update: Update) -> None:
        for queue in list(self._subscribers):
            queue.put_nowait(update)
        for callback in list(self._callbacks):
            result = callback(update)
            if inspect.isawaitable(result):
                await result

    # -- lifetime --------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise DatabaseError(f"database {self.address} is closed")

    async def aclose(self) -> None:
        """Close the database (its storages stay with the store). Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        async with self._lock:
            await self._before_close()
            await self.log.aclose()
        for queue in list(self._subscribers):
            queue.put_nowait(None)
        self.store._forget(self)

    async def _before_close(self) -> None:
        """Hook: persist what indexes keep in memory (runs under the write lock)."""

    async def drop(self) -> None:
        """Remove every entry of this database from its storages, then close it."""
        await self.log.clear()
        await self.aclose()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
