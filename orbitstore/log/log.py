"""The log: an append-only, signed Merkle-CRDT of entries, ordered as OrbitDB orders them.

Writes (``append``, ``join_entry``) are serialized by one lock. Nothing here does
I/O except through the three storages: entries (hash → block), heads (one JSON
record) and index (hash → presence).

With ``encryption=`` (OrbitDB's ``{data, replication}`` option, spec §9) entries
are encrypted as they are created and decrypted as they are read or joined;
blocks from peers go through :meth:`Log.decode_entry`.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from orbitstore.encryption.base import Encryption, EncryptionOption
from orbitstore.errors import AccessDenied, DecodeError, LogError, NotFound, StorageError
from orbitstore.identities import Identities, Identity
from orbitstore.log._helpers import parents_first, stable_ascending, uninterrupted
from orbitstore.log.access import AccessController, AllowAll
from orbitstore.log.clock import Clock, descending_id_key
from orbitstore.log.entry import Entry
from orbitstore.log.heads import find_heads, load_heads, save_heads
from orbitstore.storage.base import Storage, put_many
from orbitstore.storage.memory import MemoryStorage

__all__ = ["BlockFetcher", "Log"]

#: Fetches a missing entry block by hash (a peer, Kubo); ``None`` when it cannot.
BlockFetcher = Callable[[str], Awaitable[bytes | None]]

_PRESENT = b"true"  # what OrbitDB's Level index stores: only presence matters
_FETCH_CONCURRENCY = 32


class Log:
    """A signed, append-only log (OrbitDB's ``Log``). Create with :meth:`open`."""

    def __init__(
        self,
        identity: Identity,
        *,
        identities: Identities,
        log_id: str,
        entry_storage: Storage,
        heads_storage: Storage,
        index_storage: Storage,
        access: AccessController,
        cache_size: int,
        close_storages: bool = True,
        encryption: Encryption | None = None,
    ) -> None:
        self.identity = identity
        self.identities = identities
        self.id = log_id
        self.access = access
        self.entry_storage = entry_storage
        self.heads_storage = heads_storage
        self.index_storage = index_storage
        #: OrbitDB's encryption layers, or ``None`` for plaintext entries.
        self.encryption = encryption
        self._cache: dict[str, Entry] = {}
        self._cache_size = cache_size
        self._heads: list[Entry] = []
        self._id_keys: dict[str, tuple[int, ...]] = {}
        self._lock = asyncio.Lock()
        self._closed = False
        self._close_storages = close_storages
        # Storages that share one backing store (sub-storages of one embedded store) need one sync.
        backing: dict[int, Storage] = {}
        for storage in (entry_storage, index_storage, heads_storage):
            backing.setdefault(id(getattr(storage, "store", storage)), storage)
        self._sync_targets = list(backing.values())

    @classmethod
    async def open(
        cls,
        identity: Identity,
        *,
        identities: Identities,
        log_id: str | None = None,
        entry_storage: Storage | None = None,
        heads_storage: Storage | None = None,
        index_storage: Storage | None = None,
        access: AccessController | None = None,
        cache_size: int = 200_000,
        close_storages: bool = True,
        encryption: EncryptionOption = None,
    ) -> Log:
        """Open (or create) the log ``log_id``; the heads are read back from ``heads_storage``.

        ``identities`` signs for ``identity`` and verifies joined entries. Storages
        default to memory; ``access`` defaults to allowing every verified writer.
        ``close_storages=False`` leaves the storages open on :meth:`aclose` (their
        owner, e.g. the store, closes them); pending writes are synced either way.
        ``encryption`` is OrbitDB's ``{"data": encrypter, "replication": encrypter}``
        (either may be left out) or an :class:`~orbitstore.encryption.Encryption`.
        """
        if log_id is not None and (not isinstance(log_id, str) or not log_id):
            raise LogError("log_id must be a non-empty string")
        log = cls(
            identity,
            identities=identities,
            log_id=log_id if log_id is not None else _time_id(),
            entry_storage=entry_storage if entry_storage is not None else MemoryStorage(),
            heads_storage=heads_storage if heads_storage is not None else MemoryStorage(),
            index_storage=index_storage if index_storage is not None else MemoryStorage(),
            access=access if access is not None else AllowAll(),
            cache_size=cache_size,
            close_storages=close_storages,
            encryption=Encryption.of(encryption),
        )
        for h in await load_heads(log.heads_storage):
            entry = await log.get(h)
            if entry is None:
                raise StorageError(f"log {log.id}: head {h} is missing from entry storage")
            log._heads.append(entry)
        return log

    # -- reading --------------------------------------------------------------------------------

    def _sort_key(self, entry: Entry) -> tuple[int, tuple[int, ...]]:
        cid = entry.clock.id
        key = self._id_keys.get(cid)
        if key is None:
            key = self._id_keys[cid] = descending_id_key(cid)
        return (-entry.clock.time, key)

    def _remember(self, entry: Entry) -> None:
        cache = self._cache
        if entry.hash not in cache and len(cache) >= self._cache_size:
            del cache[next(iter(cache))]
        cache[entry.hash] = entry

    async def get(self, hash: str) -> Entry | None:
        """The entry ``hash`` from this log's entry storage, or ``None``."""
        entry = self._cache.get(hash)
        if entry is not None:
            return entry
        block = await self.entry_storage.get(hash)
        if block is None:
            return None
        # Our own storage only ever holds blocks we verified; skip the canonical re-check.
        if self.encryption is None:
            entry = Entry.decode(block, strict=False, trusted_hash=hash)
        else:
            entry = await Entry.open(block, encryption=self.encryption, strict=False, trusted_hash=hash)
        self._remember(entry)
        return entry

    async def decode_entry(self, block: bytes, *, expected_hash: str | None = None) -> Entry:
        """Decode (and decrypt, with ``encryption``) an entry block from a peer, strictly.

        :class:`DecodeError` for malformed bytes, :class:`~orbitstore.errors.EncryptionError`
        when a layer does not decrypt, :class:`LogError` when ``expected_hash`` does not match.
        """
        if self.encryption is None:
            return Entry.decode(block, expected_hash=expected_hash)
        return await Entry.open(block, encryption=self.encryption, expected_hash=expected_hash)

    async def has(self, hash: str) -> bool:
        """True when ``hash`` is an entry of this log."""
        if hash in self._cache:
            return True
        return await self.index_storage.get(hash) is not None

    async def heads(self) -> list[Entry]:
        """The current heads, newest first (the order ``next`` lists them in)."""
        return self._sorted_desc(self._heads)

    def _sorted_desc(self, entries: list[Entry]) -> list[Entry]:
        # JS: heads.sort(sortFn).reverse() — a stable ascending sort, then reversed.
        if len(entries) < 2:
            return list(entries)
        ascending = stable_ascending(entries, self._sort_key)
        return ascending[::-1]

    async def clock(self) -> Clock:
        """The log's clock: this writer's id at the newest head time."""
        return Clock(self.identity.public_key, max((h.clock.time for h in self._heads), default=0))

    async def traverse(
        self,
        roots: list[Entry] | None = None,
        should_stop: Callable[[Entry], bool] | None = None,
    ) -> AsyncIterator[Entry]:
        """Walk from ``roots`` (default: the heads) along ``next``, newest first, as OrbitDB does.

        A best-first walk: the pending entry with the greatest clock (time, then
        clock id) comes next; entries that compare equal (a writer's fork) come in
        the order OrbitDB's stable sort gives them.
        """
        start = list(self._heads) if roots is None else list(roots)
        key = self._sort_key
        heap: list[tuple[tuple[int, tuple[int, ...]], int, int, Entry]] = []
        for i, e in enumerate(stable_ascending(start, key)):
            heap.append((key(e), 0, -i, e))
        heapq.heapify(heap)
        traversed: set[str] = set()
        fetched: set[str] = set()
        to_fetch: list[str] = []
        batch = 0
        get = self.get
        while heap:
            entry = heapq.heappop(heap)[3]
            h = entry.hash
            if h in traversed:
                continue
            yield entry
            if should_stop is not None and should_stop(entry):
                return
            traversed.add(h)
            fetched.add(h)
            to_fetch.extend(entry.next)
            batch += 1
            nexts: list[Entry] = []
            for nh in to_fetch:
                if nh not in traversed and nh not in fetched:
                    fetched.add(nh)
                    got = await get(nh)
                    if got is not None:
                        nexts.append(got)
            # Prefetch one level ahead, exactly as OrbitDB does: it decides tie order.
            seen: set[str] = set()
            to_fetch = []
            for e in nexts:
                for nh in e.next:
                    if nh not in seen and nh not in traversed and nh not in fetched:
                        seen.add(nh)
                        to_fetch.append(nh)
            for i, e in enumerate(nexts):
                heapq.heappush(heap, (key(e), batch, -i, e))

    async def values(self) -> list[Entry]:
        """Every entry, oldest first (OrbitDB's ``values()``/``all()``)."""
        out = [e async for e in self.traverse()]
        out.reverse()
        return out

    async def iterator(
        self,
        *,
        gt: str | None = None,
        gte: str | None = None,
        lt: str | None = None,
        lte: str | None = None,
        amount: int = -1,
    ) -> AsyncIterator[Entry]:
        """Entries newest first, bounded like OrbitDB's ``iterator``.

        ``lte``/``lt`` start at that entry / at its parents; ``gte``/``gt`` stop at
        that entry (inclusive / exclusive); ``amount`` limits the count (with
        ``gt``/``gte`` alone, the ``amount`` entries nearest the stop point).
        """
        if amount == 0:
            return
        start: list[Entry]
        if lte is not None:
            first = await self.get(lte)
            start = [first] if first is not None else []
        elif lt is not None:
            first = await self.get(lt)
            if first is None:
                raise NotFound(f"entry {lt} not found in log {self.id}")
            parents = [await self.get(n) for n in first.next]
            start = [p for p in parents if p is not None]
        else:
            start = await self.heads()
        end_hash = gt if gt is not None else gte
        end = await self.get(end_hash) if end_hash is not None else None
        limit = -1 if (end is not None or amount == -1) else amount
        count = 0

        def stop(entry: Entry) -> bool:
            nonlocal count
            count += 1
            if limit != -1 and count >= limit:
                return True
            return end is not None and entry.hash == end.hash

        use_buffer = end is not None and amount != -1 and lt is None and lte is None
        buffer: list[Entry] = []
        async for entry in self.traverse(start, stop):
            if gt is not None and end is not None and entry.hash == end.hash:
                continue
            if use_buffer:
                buffer.append(entry)
                if len(buffer) > amount:
                    del buffer[0]
            else:
                yield entry
        for entry in buffer:
            yield entry

    # -- writing --------------------------------------------------------------------------------

    async def append(self, payload: Any, *, references_count: int = 0) -> Entry:
        """Sign and append ``payload``; the new entry becomes the only head.

        ``references_count`` adds up to that many skip references (``refs``) to
        older entries, chosen exactly as OrbitDB chooses them (databases use 16).
        """
        self._check_open()
        async with self._lock:
            heads = await self.heads()
            nexts = [h.hash for h in heads]
            refs = await self._references(heads, references_count)
            time = max((h.clock.time for h in heads), default=0) + 1
            entry = await Entry.create(
                self.identities,
                self.identity,
                self.id,
                payload,
                clock=Clock(self.identity.public_key, time),
                next=nexts,
                refs=refs,
                encryption=self.encryption,
            )
            if not await self.access.can_append(entry, self.identity, self.get):
                raise AccessDenied(f"identity {self.identity.id} may not write to log {self.id}")
            await self.entry_storage.put(entry.hash, entry.bytes)
            await self.index_storage.put(entry.hash, _PRESENT)
            self._heads = [entry]
            await save_heads(self.heads_storage, self._heads)
            self._remember(entry)
            await self._sync()
            return entry

    async def _references(self, heads: list[Entry], count: int) -> list[str]:
        # OrbitDB collects count+n hashes walking from the heads, then keeps [n, count+n).
        n = len(heads)
        if count <= 0 or n == 0:
            return []
        amount = count + n
        if n == 1:
            # Fast path: along a chain of single-parent entries the best-first walk is the chain itself.
            chain = [heads[0].hash]
            current: Entry | None = heads[0]
            cache = self._cache
            while current is not None and len(chain) < amount and len(current.next) == 1:
                parent = current.next[0]
                current = cache.get(parent)
                if current is None:
                    current = await self.get(parent)
                if current is not None:
                    chain.append(current.hash)
            if current is None or len(chain) >= amount or not current.next:
                return chain[n:amount]
        hashes: list[str] = []
        async for e in self.traverse(heads, lambda _e: len(hashes) >= amount):
            hashes.append(e.hash)
            if len(hashes) >= amount:
                break
        return hashes[n:amount]

    async def join_entry(self, entry: Entry, *, fetch: BlockFetcher | None = None) -> bool:
        """Join a (remote) head and its whole missing history; False when already known.

        Every new entry is fetched (from ``fetch``, else entry storage), checked
        (log id, signature, identity, key binding) and access-checked oldest first
        before anything is stored; one failure rejects the whole join and leaves
        the log unchanged.
        """
        return bool(await self.join_entries(entry, fetch=fetch))

    async def join_entries(self, entry: Entry, *, fetch: BlockFetcher | None = None) -> list[Entry]:
        """Like :meth:`join_entry`, but return the entries that were added, parents first."""
        self._check_open()
        async with self._lock:
            return await self._join(entry, fetch)

    async def join(self, other: Log) -> None:
        """Join every head of ``other`` (fetching blocks from its entry storage)."""
        heads = await other.heads()

        async def from_other(h: str) -> bytes | None:
            block = await other.entry_storage.get(h)
            return block if block is not None else await other.identities.storage.get(h)

        for head in heads:
            await self.join_entry(head, fetch=from_other)

    async def _verify(
        self, entry: Entry, fetch: BlockFetcher | None = None, fetched: dict[str, bytes] | None = None
    ) -> Identity:
        if entry.id != self.id:
            raise LogError(f"entry {entry.hash} belongs to log {entry.id!r}, not {self.id!r}")
        known = self.identities.is_verified(entry.identity)  # no storage round trip per entry
        if not known and fetch is not None and await self.identities.storage.get(entry.identity) is None:
            block = await fetch(entry.identity)
            if block is not None:
                # Verified now, stored only once the entries naming it pass the access check.
                await self.identities.add_identity_block(block, store=False)
                if fetched is not None:
                    fetched[entry.identity] = block
        return await entry.verify(self.identities)

    async def _join(self, entry: Entry, fetch: BlockFetcher | None) -> list[Entry]:
        if await self.has(entry.hash):
            return []
        if self.encryption is not None or entry.encrypted_payload is not None:
            # The object may come from a log holding other keys: read its bytes as this log does.
            entry = await self.decode_entry(entry.bytes, expected_hash=entry.hash)
        identity_blocks: dict[str, bytes] = {}
        pending: dict[str, tuple[Entry, Identity]] = {
            entry.hash: (entry, await self._verify(entry, fetch, identity_blocks))
        }
        wanted = [h for h in {*entry.next, *entry.refs} if h not in pending]
        sem = asyncio.Semaphore(_FETCH_CONCURRENCY)

        async def load(h: str) -> Entry:
            async with sem:
                block = await fetch(h) if fetch is not None else None
                if block is None:
                    block = await self.entry_storage.get(h)
            if block is None:
                raise NotFound(f"entry {h} is missing; cannot join {entry.hash} into log {self.id}")
            try:
                return await self.decode_entry(block, expected_hash=h)
            except DecodeError as exc:
                raise DecodeError(f"entry {h}: {exc}") from None

        while wanted:
            todo = [h for h in dict.fromkeys(wanted) if h not in pending and not await self.has(h)]
            wanted = []
            loaded = await asyncio.gather(*(load(h) for h in todo))
            for e in loaded:
                pending[e.hash] = (e, await self._verify(e, fetch, identity_blocks))
                wanted.extend(h for h in (*e.next, *e.refs) if h not in pending)

        async def lookup(h: str) -> Entry | None:
            found = pending.get(h)
            return found[0] if found is not None else await self.get(h)

        ordered = parents_first(pending)
        for e, identity in ordered:
            if not await self.access.can_append(e, identity, lookup):
                raise AccessDenied(f"identity {identity.id} may not write to log {self.id} (entry {e.hash})")

        added = [e for e, _ in ordered]
        # Once storing starts it finishes, and the lock is held until it has: a cancelled join
        # never leaves entries indexed (has() true) while the heads do not reach them, and
        # aclose() never closes the storages under it.
        await uninterrupted(asyncio.ensure_future(self._store_joined(added, entry, identity_blocks)))
        return added

    async def _store_joined(self, added: list[Entry], head: Entry, identity_blocks: dict[str, bytes]) -> None:
        # Order: blocks, then heads, then index. A crash in between leaves blocks that nothing
        # points at yet, or heads whose entries are not indexed: joining again repairs both.
        await put_many(self.identities.storage, identity_blocks.items())
        await put_many(self.entry_storage, [(e.hash, e.bytes) for e in added])  # one write: Kubo pins it once
        for e in added:
            self._remember(e)
        referenced = {h for e in added for h in (*e.next, *e.refs)}
        kept = [h for h in self._heads if h.hash not in referenced]
        self._heads = find_heads([*kept, head])
        await save_heads(self.heads_storage, self._heads)
        for e in added:
            await self.index_storage.put(e.hash, _PRESENT)
        await self._sync()

    async def _sync(self) -> None:
        for storage in self._sync_targets:
            await storage.sync()

    def _check_open(self) -> None:
        if self._closed:
            raise LogError(f"log {self.id} is closed")

    # -- lifetime -------------------------------------------------------------------------------

    async def clear(self) -> None:
        """Forget every entry (the storages are cleared)."""
        async with self._lock:
            await self.index_storage.clear()
            await self.heads_storage.clear()
            await self.entry_storage.clear()
            self._heads = []
            self._cache.clear()

    async def aclose(self) -> None:
        """Close the storages. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        async with self._lock:
            if not self._close_storages:
                await self._sync()
                return
            for storage in (self.index_storage, self.heads_storage, self.entry_storage):
                await storage.aclose()

    async def __aenter__(self) -> Log:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _time_id() -> str:
    import time

    return str(int(time.time() * 1000))
