"""A block storage backed by a Kubo node: blocks go through ``block put``/``block get``.

Keys are CIDv1 text (``zdpu…`` for dag-cbor); values are the raw block bytes.
Every put is pinned by default, so that Kubo's garbage collector never drops a
verified entry, identity, manifest or access-controller block (OrbitDB lost
replicated entries to GC: orbitdb#1163). Many blocks stored at once
(:meth:`KuboStorage.put_many`, a whole join) go in one CAR and are pinned by
one *pin batch* (:mod:`orbitstore.storage._pin_batch`):
Kubo spends about 2 ms on every pin, so one pin per block made replication
through Kubo ten times slower than the network.

Scope of :meth:`KuboStorage.items` and :meth:`KuboStorage.clear`: Kubo keeps
no record of which storage put which block, so both act on the node's pin set
(recursive and direct pins of dag-cbor, raw and dag-json blocks, and the
members of pin batches; UnixFS content is left alone): ``items`` lists every
such block, ``clear`` unpins and drops them all. Give each orbitstore peer its
own Kubo node (as the test swarms do) or do not call ``clear`` on a shared one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from typing import TypeVar

from orbitstore.codec import CID, DAG_CBOR, write_car
from orbitstore.config import DEFAULT_KUBO_TIMEOUT
from orbitstore.errors import CIDError, KuboError, NotFound, StorageError, StorageTimeout
from orbitstore.kubo._encoding import cid_prefix, cid_to_base58btc
from orbitstore.kubo.client import KuboClient
from orbitstore.kubo.types import Pin
from orbitstore.storage._lifecycle import Lifecycle, copy_pairs
from orbitstore.storage._pin_batch import BatchRoot, build_batch, parse_leaf, parse_root, without
from orbitstore.storage.base import Storage

__all__ = ["BATCH_MIN", "KuboStorage"]

# multicodec code -> the name Kubo's block put takes as cid-codec
_CODECS = {0x55: "raw", 0x71: "dag-cbor", 0x0129: "dag-json"}
_SHA2_256 = 0x12
#: below this many blocks, ``put_many`` pins each block directly instead of making a batch
BATCH_MIN = 16
_PIN_CHUNK = 500  # CIDs per ``pin add`` call (about 30 KB of query string)
_BLOCKS_PER_TIMEOUT = 2000  # a bulk call may take ``timeout`` per this many blocks

_T = TypeVar("_T")


class KuboStorage(Lifecycle):
    """Implements :class:`~orbitstore.storage.base.BulkStorage` over a Kubo node's blocks.

    * ``put`` stores the block with the codec its key names, checks that
      Kubo's CID equals the key (:class:`StorageError` if not) and, when
      ``pin`` is true, pins it directly (the block alone: a recursive pin
      would also hold, and first fetch, what it links to);
    * ``put_many`` checks every key against its bytes first, then sends all
      blocks in one CAR (``dag import``), pinned by one recursive pin of a
      *pin batch* (a small index linking them by multihash, see
      :mod:`orbitstore.storage._pin_batch` and ``docs/kubo.md``), or with
      direct pins when there are fewer than :data:`BATCH_MIN`;
    * ``get`` returns the block, fetching it from connected peers (bitswap)
      for up to ``timeout`` seconds, after which it raises
      :class:`~orbitstore.errors.StorageTimeout`; with ``offline=True`` it only
      looks in the local blockstore and returns ``None`` on a miss;
    * ``delete``/``delete_many`` unpin the keys, take them out of every pin
      batch holding them (the batch's pin moves to a new index without them)
      and drop the local copies, unless another pin still holds a block
      (then it stays, reachable through that pin);
    * ``items``/``clear`` act on the node's whole pin set, batch members
      included (see the module doc).

    The client is borrowed: :meth:`aclose` closes it only when ``owns_client``.
    """

    __slots__ = ("_client", "_offline", "_owns_client", "_pin", "_pins_lock", "_timeout")

    def __init__(
        self,
        client: KuboClient,
        *,
        pin: bool = True,
        timeout: float = DEFAULT_KUBO_TIMEOUT,
        offline: bool = False,
        owns_client: bool = False,
    ) -> None:
        super().__init__()
        self._client = client
        self._pin = pin
        self._timeout = timeout
        self._offline = offline
        self._owns_client = owns_client
        self._pins_lock = asyncio.Lock()  # batch rewrites (delete, clear) one at a time

    def __repr__(self) -> str:
        return f"KuboStorage({self._client!r}, pin={self._pin})"

    @property
    def client(self) -> KuboClient:
        """The Kubo client this storage uses."""
        return self._client

    async def _within_timeout(self, call: Awaitable[_T], what: str, limit: float | None = None) -> _T:
        limit = self._timeout if limit is None else limit
        try:
            async with asyncio.timeout(limit):
                return await call
        except StorageTimeout:
            raise
        except TimeoutError as exc:
            raise StorageTimeout(f"Kubo {what} took longer than {limit:g} s") from exc

    def _bulk_timeout(self, blocks: int) -> float:
        return self._timeout * max(1, -(-blocks // _BLOCKS_PER_TIMEOUT))

    # -- writing ----------------------------------------------------------------------------------

    async def put(self, key: str, value: bytes) -> None:
        """Store ``value`` as the block ``key`` (a sha2-256 CIDv1), pinned directly when ``pin`` is on."""
        self._check_open()
        codec = _codec_of(key)
        cid = await self._within_timeout(self._client.block_put(value, codec=codec), f"put of {key}")
        if cid != cid_to_base58btc(key):
            raise StorageError(f"Kubo stored the block as {cid}, but its key is {key}: bytes and key differ")
        if self._pin:
            await self._within_timeout(self._client.pin_add(cid, recursive=False), f"pin of {key}")

    async def put_many(self, pairs: Iterable[tuple[str, bytes]]) -> int:
        """Store (and pin) many blocks with a few Kubo calls; return how many.

        Every key is checked against its bytes before anything is sent
        (:class:`StorageError` naming the first mismatch). The blocks go in one
        ``dag import``, pinned by one pin batch (from :data:`BATCH_MIN` blocks)
        or directly. A failure part-way leaves the blocks stored and possibly
        unpinned: storing them again repairs that.
        """
        self._check_open()
        blocks: dict[str, bytes] = {}
        for key, value in pairs:
            blocks.setdefault(_checked_cid(key, value).encode(), value)
        if not blocks:
            return 0
        if not self._pin or len(blocks) < BATCH_MIN:
            await self._import(blocks, None)
            if self._pin:
                await self._pin_directly(list(blocks))
            return len(blocks)
        root, index = build_batch(blocks)
        await self._import({**blocks, **index}, root)
        return len(blocks)

    async def _import(self, blocks: dict[str, bytes], root: str | None) -> None:
        """One ``dag import`` of ``blocks``, pinning ``root`` (recursively) when given."""
        car = write_car(((CID.parse(k), v) for k, v in blocks.items()), [CID.parse(root)] if root else [])
        limit = self._bulk_timeout(len(blocks))
        result = await self._within_timeout(
            self._client.dag_import(car, pin_roots=root is not None, call_timeout=limit + 1.0),
            f"import of {len(blocks)} blocks",
            limit + 2.0,
        )
        if result.block_count is not None and result.block_count != len(blocks):
            raise StorageError(f"Kubo imported {result.block_count} of {len(blocks)} blocks")
        if root is not None and cid_to_base58btc(root) not in result.roots:
            raise StorageError(f"Kubo did not pin the pin batch {root}")

    async def _pin_directly(self, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), _PIN_CHUNK):
            chunk = keys[start : start + _PIN_CHUNK]
            limit = self._bulk_timeout(len(chunk) * 4)  # a pin costs about 4x an imported block
            await self._within_timeout(
                self._client.pin_add(*chunk, recursive=False, call_timeout=limit + 1.0),
                f"pin of {len(chunk)} blocks",
                limit + 2.0,
            )

    # -- reading ----------------------------------------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        """Return block ``key``, or ``None`` when Kubo reports it missing.

        Raises :class:`~orbitstore.errors.StorageTimeout` when peers do not
        deliver it within ``timeout`` (never with ``offline=True``).
        """
        self._check_open()
        try:
            return await self._within_timeout(self._client.block_get(key, offline=self._offline), f"get of {key}")
        except NotFound:
            return None

    # -- deleting ---------------------------------------------------------------------------------

    async def delete(self, key: str) -> None:
        """Unpin ``key`` (its own pin and every pin batch holding it) and remove its local block.

        A missing or unpinned key is not an error. A block that another pin
        still holds (one that is not a pin batch, e.g. a recursive pin of a
        DAG linking to it) stays.
        """
        await self.delete_many([key])

    async def delete_many(self, keys: Iterable[str]) -> int:
        """:meth:`delete` each key, rewriting each pin batch once; return how many blocks are gone.

        Only the batch leaves that may hold a key are read and rewritten.
        Kubo checks the pins of every block it removes by walking all
        recursive pins (the batches' index blocks, not their members).
        """
        self._check_open()
        wanted = list(dict.fromkeys(cid_to_base58btc(k) for k in keys))
        if not wanted:
            return 0
        gone = {CID.parse(k).multihash for k in wanted}
        async with self._pins_lock:
            for key in wanted:
                with contextlib.suppress(NotFound):  # no pin of its own (in a batch, or not pinned)
                    await self._client.pin_rm(key)
            old_index: list[str] = []
            for root, batch in (await self._batch_roots()).items():
                old_index += await self._drop_from_batch(root, batch, gone)
            stayed = 0
            for key in wanted:
                stayed += not await self._remove_unpinned(key)  # held by a pin not ours to change: it stays
            for block in old_index:
                await self._remove_unpinned(block)  # a leaf another batch shares stays
            return len(wanted) - stayed

    async def _drop_from_batch(self, root: str, batch: BatchRoot, gone: set[bytes]) -> list[str]:
        """Take the multihashes ``gone`` out of batch ``root`` (moving its pin); return old index blocks to drop."""
        candidates = {i for i in (batch.leaf_for(h) for h in gone) if i is not None}
        if not candidates:
            return []
        leaves = {i: parse_leaf(await self._client.block_get(batch.leaves[i], offline=True)) for i in candidates}
        new_root, blocks, dropped = without(batch, leaves, gone)
        if not dropped:
            return []  # none of them is in this batch
        if new_root is None:
            with contextlib.suppress(NotFound):
                await self._client.pin_rm(root)
        else:
            await self._import(blocks, None)
            await self._within_timeout(self._client.pin_update(root, new_root), f"pin update of {root}")
        return [root, *dropped]

    async def _remove_unpinned(self, key: str) -> bool:
        """Remove block ``key`` unless a pin still holds it; ``True`` when it is gone."""
        try:
            await self._client.block_rm(key, force=True)
        except KuboError as exc:
            if "pinned" not in str(exc):
                raise
            return False
        return True

    # -- the whole pin set ------------------------------------------------------------------------

    async def _batch_roots(self, recursive: list[Pin] | None = None) -> dict[str, BatchRoot]:
        """The pin batches on the node (root CID → root), read from its ``recursive`` pins (listed when not given).

        Read afresh each time (root blocks only), so batches made by another
        storage on the node count too.
        """
        if recursive is None:
            recursive = await self._client.pin_ls(type="recursive")
        batches: dict[str, BatchRoot] = {}
        for pin in recursive:
            if _codec(pin.cid) != DAG_CBOR:
                continue
            try:
                found = parse_root(await self._client.block_get(pin.cid, offline=True))
            except NotFound:
                continue  # unpinned and collected since the listing
            if found is not None:
                batches[pin.cid] = found
        return batches

    async def _pinned(self) -> list[str]:
        """Every block with a pin of its own (direct or recursive, not a batch) or in a batch, sorted.

        Only codecs this storage writes: UnixFS (dag-pb) pins, such as the
        empty directory ``ipfs init`` pins, are the node's, not ours.
        """
        recursive = await self._client.pin_ls(type="recursive")
        batches = await self._batch_roots(recursive)
        pins = recursive + await self._client.pin_ls(type="direct")
        keys = {pin.cid for pin in pins if _codec(pin.cid) in _CODECS and pin.cid not in batches}
        for batch in batches.values():
            for leaf in batch.leaves:
                with contextlib.suppress(NotFound):
                    keys.update(m.cid for m in parse_leaf(await self._client.block_get(leaf, offline=True)))
        return sorted(keys)

    async def items(self) -> AsyncIterator[tuple[str, bytes]]:
        """Iterate over the node's pinned dag-cbor/raw/dag-json blocks and pin batch members, by CID."""
        self._check_open()
        for cid in await self._pinned():
            try:
                value = await self._client.block_get(cid, offline=True)
            except NotFound:
                continue  # unpinned and collected since the listing, or erased from a batch
            yield cid, value

    async def merge(self, other: Storage) -> None:
        """Put (and pin) every pair of ``other``, in chunks of :meth:`put_many`."""
        self._check_open()
        await copy_pairs(self, other)

    async def clear(self) -> None:
        """Unpin and drop every pinned block and pin batch of the node (see the module doc for the scope)."""
        self._check_open()
        await self.delete_many(await self._pinned())

    async def sync(self) -> None:
        """Nothing to commit: Kubo has stored each block when ``put`` returns."""
        self._check_open()

    async def aclose(self) -> None:
        """Close; closes the client too when ``owns_client``. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._owns_client:
            await self._client.aclose()


def _codec(cid: str) -> int | None:
    """The multicodec of CIDv1 text, or ``None`` for any other form (CIDv0 and the like are never ours)."""
    try:
        return cid_prefix(cid).codec
    except CIDError:
        return None


def _codec_of(key: str) -> str:
    """The Kubo codec name for ``key``'s CID; :class:`CIDError` for what this storage cannot store."""
    prefix = cid_prefix(key)
    codec = _CODECS.get(prefix.codec)
    if codec is None:
        raise CIDError(f"KuboStorage cannot store codec 0x{prefix.codec:x} (key {key})")
    if prefix.hash_code != _SHA2_256:
        raise CIDError(f"KuboStorage stores sha2-256 CIDs only (key {key})")
    return codec


def _checked_cid(key: str, value: bytes) -> CID:
    """``key`` parsed, after checking that this storage can store it and that ``value`` hashes to it."""
    _codec_of(key)
    cid = CID.parse(key)
    if not cid.verify(value):
        raise StorageError(f"block bytes do not hash to their key {key}: bytes and key differ")
    return cid
