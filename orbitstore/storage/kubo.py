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
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

from orbitstore.errors import CIDError, KuboError, NotFound, StorageError, StorageTimeout
from orbitstore.kubo._encoding import cid_prefix, cid_to_base58btc
from orbitstore.kubo.client import KuboClient
from orbitstore.storage._lifecycle import Lifecycle, copy_pairs
from orbitstore.storage.base import Storage

__all__ = ["KuboStorage"]

# multicodec code -> the name Kubo's block put takes as cid-codec
_CODECS = {0x55: "raw", 0x71: "dag-cbor", 0x0129: "dag-json"}
_SHA2_256 = 0x12

_T = TypeVar("_T")


class KuboStorage(Lifecycle):
    """Implements :class:`~orbitstore.storage.base.Storage` over a Kubo node's blocks.

    * ``put`` stores the block with the codec its key names, checks that
      Kubo's CID equals the key (:class:`StorageError` if not) and pins it when
      ``pin`` is true;
    * ``get`` returns the block, fetching it from connected peers (bitswap)
      for up to ``timeout`` seconds, after which it raises
      :class:`~orbitstore.errors.StorageTimeout`; with ``offline=True`` it only
      looks in the local blockstore and returns ``None`` on a miss;
    * ``delete`` unpins the key and drops the local copy, unless another pin
      still holds the block (then it stays, reachable through that pin);
    * ``items``/``clear`` act on the node's whole pin set (see the module doc).

    The client is borrowed: :meth:`aclose` closes it only when ``owns_client``.
    """

    __slots__ = ("_client", "_offline", "_owns_client", "_pin", "_timeout")

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

    def __repr__(self) -> str:
        return f"KuboStorage({self._client!r}, pin={self._pin})"

    @property
    def client(self) -> KuboClient:
        """The Kubo client this storage uses."""
        return self._client

    async def _within_timeout(self, call: Awaitable[_T], what: str) -> _T:
        try:
            async with asyncio.timeout(self._timeout):
                return await call
        except StorageTimeout:
            raise
        except TimeoutError as exc:
            raise StorageTimeout(f"Kubo {what} took longer than {self._timeout:g} s") from exc

    async def put(self, key: str, value: bytes) -> None:
        """Store ``value`` as the block ``key`` (a sha2-256 CIDv1), pinned when ``pin`` is on."""
        self._check_open()
        prefix = cid_prefix(key)
        codec = _CODECS.get(prefix.codec)
        if codec is None:
            raise CIDError(f"KuboStorage cannot store codec 0x{prefix.codec:x} (key {key})")
        if prefix.hash_code != _SHA2_256:
            raise CIDError(f"KuboStorage stores sha2-256 CIDs only (key {key})")
        cid = await self._within_timeout(self._client.block_put(value, codec=codec, pin=self._pin), f"put of {key}")
        if cid != cid_to_base58btc(key):
            raise StorageError(f"Kubo stored the block as {cid}, but its key is {key}: bytes and key differ")

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

    async def delete(self, key: str) -> None:
        """Unpin ``key`` and remove its local block; a missing or unpinned key is not an error."""
        self._check_open()
        with contextlib.suppress(NotFound):  # not pinned, or only indirectly: nothing to unpin
            await self._client.pin_rm(key)
        try:
            await self._client.block_rm(key, force=True)
        except KuboError as exc:
            if "pinned" not in str(exc):
                raise
            # still pinned by another pin (e.g. a snapshot linking to it): it stays

    async def _pinned(self) -> list[str]:
        """Recursive and direct pins with a codec this storage writes, sorted.

        UnixFS (dag-pb) pins, such as the empty directory ``ipfs init`` pins,
        are the node's, not ours.
        """
        pins = await self._client.pin_ls(type="recursive")
        pins += await self._client.pin_ls(type="direct")
        ours = set()
        for pin in pins:
            with contextlib.suppress(CIDError):  # CIDv0 and other forms are never ours
                if cid_prefix(pin.cid).codec in _CODECS:
                    ours.add(pin.cid)
        return sorted(ours)

    async def items(self) -> AsyncIterator[tuple[str, bytes]]:
        """Iterate over the node's pinned dag-cbor/raw/dag-json blocks (recursive and direct pins), by CID."""
        self._check_open()
        for cid in await self._pinned():
            try:
                value = await self._client.block_get(cid, offline=True)
            except NotFound:
                continue  # unpinned and collected since the listing
            yield cid, value

    async def merge(self, other: Storage) -> None:
        """Put (and pin) every pair of ``other``."""
        self._check_open()
        await copy_pairs(self, other)

    async def clear(self) -> None:
        """Unpin and drop every pinned block of the node (see the module doc for the scope)."""
        self._check_open()
        for cid in await self._pinned():
            await self.delete(cid)

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
