"""A block storage backed by a Kubo node: blocks go through ``block put``/``block get``.

Keys are CIDv1 text (``zdpu…`` for dag-cbor); values are the raw block bytes.
Every put is pinned by default, so that Kubo's garbage collector never drops a
verified entry, identity, manifest or access-controller block (OrbitDB lost
replicated entries to GC: orbitdb#1163).

Scope of :meth:`KuboStorage.items` and :meth:`KuboStorage.clear`: Kubo keeps
no record of which storage put which block, so both act on the node's pin set
(recursive and direct pins of dag-cbor, raw and dag-json blocks; UnixFS
content is left alone): ``items`` lists every such pinned block, ``clear``
unpins and drops them all. Give each orbitstore peer its own Kubo node (as the
test swarms do) or do not call ``clear`` on a shared one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from typing import TypeVar

from orbitstore.codec import CID, DAG_CBOR, write_car
from orbitstore.errors import CIDError, KuboError, NotFound, StorageError, StorageTimeout
from orbitstore.kubo._encoding import cid_prefix, cid_to_base58btc
from orbitstore.kubo.client import KuboClient
from orbitstore.storage._lifecycle import Lifecycle, copy_pairs
from orbitstore.storage._pin_batch import build_batch, may_link, parse_leaf, parse_root
from orbitstore.storage.base import Storage

__all__ = ["BATCH_MIN", "KuboStorage"]

# multicodec code -> the name Kubo's block put takes as cid-codec
_CODECS = {0x55: "raw", 0x71: "dag-cbor", 0x0129: "dag-json"}
_SHA2_256 = 0x12
#: below this many link-free blocks, ``put_many`` pins each block instead of making a batch
BATCH_MIN = 16
_PIN_CHUNK = 500  # CIDs per ``pin add`` call (about 30 KB of query string)
_BLOCKS_PER_TIMEOUT = 2000  # a bulk call may take ``timeout`` per this many blocks

_T = TypeVar("_T")


class KuboStorage(Lifecycle):
    """Implements :class:`~orbitstore.storage.base.BulkStorage` over a Kubo node's blocks.

    * ``put`` stores the block with the codec its key names, checks that
      Kubo's CID equals the key (:class:`StorageError` if not) and, when
      ``pin`` is true, pins it: recursively when it links to nothing, directly
      when it may link (a recursive pin would also hold, and first fetch,
      what it links to);
    * ``put_many`` checks every key against its bytes first, then sends all
      blocks in one CAR (``dag import``) and pins the link-free ones with one
      recursive pin of a *pin batch* (a small index linking them, see
      ``docs/kubo.md``) and the others with direct pins;
    * ``get`` returns the block, fetching it from connected peers (bitswap)
      for up to ``timeout`` seconds, after which it raises
      :class:`~orbitstore.errors.StorageTimeout`; with ``offline=True`` it only
      looks in the local blockstore and returns ``None`` on a miss;
    * ``delete`` unpins the key, takes it out of every pin batch holding it
      (the batch's pin moves to a new index without it) and drops the local
      copy, unless another pin still holds the block (then it stays,
      reachable through that pin);
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
        timeout: float = 10.0,
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
        """Store ``value`` as the block ``key`` (a sha2-256 CIDv1), pinned when ``pin`` is on."""
        self._check_open()
        codec = _codec_of(key)
        links = may_link(cid_prefix(key).codec, value)
        pin_with_put = self._pin and not links  # block put pins recursively: only for link-free blocks
        cid = await self._within_timeout(self._client.block_put(value, codec=codec, pin=pin_with_put), f"put of {key}")
        if cid != cid_to_base58btc(key):
            raise StorageError(f"Kubo stored the block as {cid}, but its key is {key}: bytes and key differ")
        if self._pin and links:
            await self._within_timeout(self._client.pin_add(cid, recursive=False), f"pin of {key}")

    async def put_many(self, pairs: Iterable[tuple[str, bytes]]) -> int:
        """Store (and pin) many blocks with a few Kubo calls; return how many.

        Every key is checked against its bytes before anything is sent
        (:class:`StorageError` naming the first mismatch). The blocks go in one
        ``dag import``; the link-free ones are pinned by one pin batch when
        there are at least :data:`BATCH_MIN` of them, each on its own
        otherwise; the others get direct pins. A failure part-way leaves the
        blocks stored and possibly unpinned: storing them again repairs that.
        """
        self._check_open()
        blocks: dict[str, bytes] = {}
        linking: list[str] = []
        for key, value in pairs:
            cid = _checked_cid(key, value)
            text = cid.encode()
            if text not in blocks:
                blocks[text] = value
                if may_link(cid.codec, value):
                    linking.append(text)
        if not blocks:
            return 0
        linked = set(linking)
        plain = [key for key in blocks if key not in linked]
        if not self._pin:
            await self._import(blocks, None)
            return len(blocks)
        batch = build_batch(plain) if len(plain) >= BATCH_MIN else None
        await self._import({**blocks, **batch.blocks} if batch else blocks, batch.root if batch else None)
        if batch is None and plain:
            await self._pin_each(plain, recursive=True)
        if linking:
            await self._pin_each(linking, recursive=False)
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

    async def _pin_each(self, keys: Sequence[str], *, recursive: bool) -> None:
        for start in range(0, len(keys), _PIN_CHUNK):
            chunk = keys[start : start + _PIN_CHUNK]
            limit = self._bulk_timeout(len(chunk) * 4)  # pins cost about 4x an imported block
            await self._within_timeout(
                self._client.pin_add(*chunk, recursive=recursive, call_timeout=limit + 1.0),
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
        self._check_open()
        key = cid_to_base58btc(key)
        async with self._pins_lock:
            with contextlib.suppress(NotFound):  # not pinned, or only indirectly: nothing to unpin
                await self._client.pin_rm(key)
            rewritten: set[str] = set()
            while True:
                try:
                    await self._client.block_rm(key, force=True)
                    return
                except KuboError as exc:
                    if "pinned" not in str(exc):
                        raise
                holder = await self._batch_holding(key)
                if holder is None or holder in rewritten:
                    return  # held by a pin that is not ours to change: it stays
                rewritten.add(holder)
                await self._drop_from_batch(holder, {key})

    async def _batch_holding(self, key: str) -> str | None:
        """The pin batch root that holds ``key`` indirectly, or ``None`` (not held, or by another pin)."""
        try:
            pins = await self._client.pin_ls(key)
        except NotFound:
            return None
        for pin in pins:
            kind, _, through = pin.type.partition(" through ")
            if kind == "indirect" and through:
                root = cid_to_base58btc(through.strip())
                if await self._batch_leaves(root) is not None:
                    return root
        return None

    async def _batch_leaves(self, root: str) -> list[str] | None:
        """The leaf CIDs of pin batch ``root``, or ``None`` when ``root`` is not a pin batch."""
        try:
            block = await self._client.block_get(root, offline=True)
        except NotFound:
            return None
        return parse_root(block)

    async def _batch_members(self, leaves: Sequence[str]) -> list[str]:
        members: list[str] = []
        for leaf in leaves:
            members += parse_leaf(await self._client.block_get(leaf, offline=True))
        return members

    async def _drop_from_batch(self, root: str, keys: set[str]) -> None:
        """Move pin batch ``root``'s pin to a new batch without ``keys``, then drop the old index blocks."""
        leaves = await self._batch_leaves(root)
        assert leaves is not None
        members = await self._batch_members(leaves)
        remaining = [m for m in members if m not in keys]
        kept: set[str] = set()
        if remaining:
            batch = build_batch(remaining)
            await self._import(batch.blocks, None)
            await self._within_timeout(self._client.pin_update(root, batch.root), f"pin update of {root}")
            kept = set(batch.blocks)
        else:
            await self._client.pin_rm(root)
        for old in (root, *leaves):
            if old not in kept:
                await self._remove_unpinned(old)

    async def _remove_unpinned(self, key: str) -> None:
        """Remove block ``key`` unless something still pins it."""
        try:
            await self._client.block_rm(key, force=True)
        except KuboError as exc:
            if "pinned" not in str(exc):
                raise

    # -- the whole pin set ------------------------------------------------------------------------

    async def _pinned(self) -> tuple[list[str], dict[str, list[str]]]:
        """Our blocks with pins of their own, sorted, and the pin batches (root → leaves).

        Recursive and direct pins with a codec this storage writes; UnixFS
        (dag-pb) pins, such as the empty directory ``ipfs init`` pins, are the
        node's, not ours.
        """
        pins = await self._client.pin_ls(type="recursive")
        pins += await self._client.pin_ls(type="direct")
        ours = set()
        for pin in pins:
            with contextlib.suppress(CIDError):  # CIDv0 and other forms are never ours
                if cid_prefix(pin.cid).codec in _CODECS:
                    ours.add(pin.cid)
        own: list[str] = []
        batches: dict[str, list[str]] = {}
        for cid in sorted(ours):
            leaves = await self._batch_leaves(cid) if cid_prefix(cid).codec == DAG_CBOR else None
            if leaves is None:
                own.append(cid)
            else:
                batches[cid] = leaves
        return own, batches

    async def _all_keys(self) -> tuple[list[str], dict[str, list[str]]]:
        """Every block we hold a pin for, own pins and batch members alike (sorted), and the batches."""
        own, batches = await self._pinned()
        keys = set(own)
        for leaves in batches.values():
            keys.update(await self._batch_members(leaves))
        return sorted(keys), batches

    async def items(self) -> AsyncIterator[tuple[str, bytes]]:
        """Iterate over the node's pinned dag-cbor/raw/dag-json blocks and pin batch members, by CID."""
        self._check_open()
        keys, _ = await self._all_keys()
        for cid in keys:
            try:
                value = await self._client.block_get(cid, offline=True)
            except NotFound:
                continue  # unpinned and collected since the listing
            yield cid, value

    async def merge(self, other: Storage) -> None:
        """Put (and pin) every pair of ``other``, in chunks of :meth:`put_many`."""
        self._check_open()
        await copy_pairs(self, other)

    async def clear(self) -> None:
        """Unpin and drop every pinned block and pin batch of the node (see the module doc for the scope)."""
        self._check_open()
        keys, batches = await self._all_keys()
        async with self._pins_lock:
            for root, leaves in batches.items():
                with contextlib.suppress(NotFound):
                    await self._client.pin_rm(root)
                for block in (root, *leaves):
                    await self._remove_unpinned(block)
        for key in keys:
            await self.delete(key)

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
