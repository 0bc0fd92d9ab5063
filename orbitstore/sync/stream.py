"""The client side of the direct path: join what a server streams, chunk by chunk.

The server sends identity blocks, then entries parents first, each preceded by
the blocks its payload links to (see :mod:`orbitstore.sync.direct`). A
:class:`StreamJoin` keeps the identity blocks for the whole exchange and the
rest in a :class:`~orbitstore.sync.plan.Chunk`; when the chunk is full (or the
stream ends) it joins the chunk's heads through ``db.join_entry``, which
verifies every entry before storing any. Entries joined stay joined if a later
chunk fails: they passed every check.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from orbitstore.codec import decode
from orbitstore.errors import DecodeError, EncryptionError, LogError, SyncError
from orbitstore.sync.fetch import Fetcher
from orbitstore.sync.plan import Chunk, EntryRef, peek_entry
from orbitstore.sync.transport import DirectDone, DirectItem

if TYPE_CHECKING:
    from orbitstore.databases.base import Database

__all__ = ["MAX_IDENTITY_BLOCKS", "StreamJoin"]

#: Identity blocks accepted at the start of one exchange (they are kept until it ends).
MAX_IDENTITY_BLOCKS = 4096


class StreamJoin:
    """Joins one direct-path stream into ``db``.

    ``received(block)`` is called for every block before it is kept (it
    accounts the block, and raises to stop the exchange); ``fetcher(local)``
    makes the block fetcher of one chunk's join (``local``: the streamed
    blocks). ``added`` counts the entries joined so far; ``done`` is the
    server's closing message once it has arrived.
    """

    def __init__(
        self,
        db: Database,
        *,
        chunk_entries: int,
        chunk_bytes: int,
        received: Callable[[bytes], Awaitable[None]],
        fetcher: Callable[[Mapping[str, bytes]], Fetcher],
    ) -> None:
        self.db = db
        self._log_id = db.log.id
        self._chunk_entries = chunk_entries
        self._chunk_bytes = chunk_bytes
        self._received = received
        self._fetcher = fetcher
        self._identities: dict[str, bytes] = {}
        self._chunk = Chunk()
        self._entries_seen = False
        self.added = 0
        self.done: DirectDone | None = None

    async def run(self, stream: AsyncIterator[DirectItem]) -> None:
        """Consume ``stream`` to its end, joining as it goes."""
        chunk = self._chunk
        async for item in stream:
            if isinstance(item, DirectDone):
                self.done = item
                continue
            await self._received(item.data)
            ref = await self._peek(item.cid, item.data)
            if ref is None and not self._entries_seen:
                if len(self._identities) >= MAX_IDENTITY_BLOCKS:
                    raise SyncError(f"more than {MAX_IDENTITY_BLOCKS} identity blocks in one exchange")
                self._identities[item.cid] = item.data
            elif ref is None:
                chunk.add_linked(item.cid, item.data)  # linked from the entry that follows
            elif ref.id != self._log_id:
                raise LogError(f"entry {item.cid} belongs to log {ref.id!r}")
            else:
                self._entries_seen = True
                chunk.add(ref, item.data)
                if len(chunk.entries) >= self._chunk_entries or chunk.size >= self._chunk_bytes:
                    await self._join_chunk()
        await self._join_chunk()

    async def _peek(self, cid: str, block: bytes) -> EntryRef | None:
        """``peek_entry``, looking inside OrbitDB's replication-encryption wrapper when the log has its key."""
        ref = peek_entry(cid, block)
        encryption = self.db.log.encryption
        if ref is not None or encryption is None or encryption.replication is None:
            return ref
        try:
            wrapped = decode(block)
            if type(wrapped) is not bytes:
                return None
            inner = await encryption.replication.decrypt(wrapped)
        except (DecodeError, EncryptionError):
            return None  # not an entry of ours: the join checks it like any other block
        return peek_entry(cid, inner)

    async def _join_chunk(self) -> None:
        chunk = self._chunk
        if not chunk.entries:
            return
        fetch = self._fetcher(ChainMap(chunk.entries, chunk.linked, self._identities))
        try:
            for head in chunk.heads():
                if await self.db.log.has(head):
                    continue
                entry = await self.db.log.decode_entry(chunk.entries[head], expected_hash=head)
                self.added += len(await self.db.join_entry(entry, fetch=fetch))
        finally:
            await fetch.aclose()
        chunk.clear()
