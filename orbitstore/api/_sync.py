"""Replication for an API node: one :class:`~orbitstore.sync.Replicator` per open database.

::

    sync = SyncService(direct=DirectNode(), peers=["127.0.0.1:4711"])     # direct-only (no Kubo)
    sync = SyncService(pubsub=KuboPubSub(client), blocks=KuboBlocks(client), direct=DirectNode())
    await sync.start()
    await sync.attach(db)            # replicate db until detach(), or aclose()

The service owns the direct node (started by :meth:`start`, closed by
:meth:`aclose`); the pubsub and block source are borrowed. Replicators are
stopped before the databases close: :meth:`detach` before closing one,
:meth:`aclose` before closing the store. With static peers and no Kubo,
:meth:`fetch_setup` brings a database's manifest and access controller
from a peer, so that it can be opened by address.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from orbitstore.databases.manifest import Address
from orbitstore.errors import DecodeError, NotFound, SyncError
from orbitstore.storage.base import put_many
from orbitstore.sync import BlockSource, DirectNode, PubSub, Replicator, ReplicatorStatus, parse_endpoint

if TYPE_CHECKING:
    from orbitstore.databases.base import Database
    from orbitstore.store import OrbitStore

__all__ = ["SyncService"]

_log = logging.getLogger("orbitstore.sync")


class SyncService:
    """Starts and stops the replicators of a node's open databases."""

    def __init__(
        self,
        *,
        pubsub: PubSub | None = None,
        blocks: BlockSource | None = None,
        direct: DirectNode | None = None,
        peers: Sequence[str] = (),
        options: dict[str, Any] | None = None,
    ) -> None:
        for endpoint in peers:
            parse_endpoint(endpoint)
        self.pubsub = pubsub
        self.blocks = blocks
        self.direct = direct if direct is not None or pubsub is not None else DirectNode()
        self.static_peers = tuple(dict.fromkeys(peers))
        self._options = dict(options or {})
        self._replicators: dict[str, Replicator] = {}
        self._lock = asyncio.Lock()
        self._closed = False

    @property
    def mode(self) -> str:
        """``pubsub`` (Kubo) or ``direct`` (static peers only)."""
        return "pubsub" if self.pubsub is not None else "direct"

    @property
    def endpoint(self) -> str | None:
        """Where this node's direct path listens (``host:port``), or ``None``."""
        return self.direct.endpoint if self.direct is not None else None

    async def start(self) -> None:
        """Start listening on the direct path."""
        if self.direct is not None:
            await self.direct.start()

    def replicators(self) -> dict[str, Replicator]:
        """The running replicators, by database address."""
        return dict(self._replicators)

    async def attach(self, db: Database) -> Replicator:
        """Replicate ``db`` (once: attaching it again returns its replicator)."""
        address = str(db.address)
        async with self._lock:
            if self._closed:
                raise SyncError("the sync service is closed")
            found = self._replicators.get(address)
            if found is not None and found.db is db:
                return found
            if found is not None:  # a replicator of a database closed and opened again
                await self._stop(address, found)
            if self.pubsub is not None:
                replicator = Replicator(db, pubsub=self.pubsub, blocks=self.blocks, direct=self.direct, **self._options)
            else:
                replicator = Replicator(db, direct=self.direct, direct_peers=self.static_peers, **self._options)
            await replicator.start()
            self._replicators[address] = replicator
            _log.info("replicating", extra={"address": address, "mode": self.mode})
            return replicator

    async def fetch_setup(self, address: str, store: OrbitStore) -> bool:
        """Fetch what opening ``address`` needs from the static peers when ``store`` lacks its manifest.

        Only without Kubo (with Kubo the block store fetches it over bitswap).
        Returns ``True`` when blocks were fetched and stored, ``False`` when
        nothing was needed. Raises :class:`NotFound` naming what each peer
        answered when none served them.
        """
        if self.pubsub is not None or self.direct is None or not self.static_peers:
            return False
        if await store.blocks.get(Address.parse(address).manifest_hash) is not None:
            return False
        failures: list[str] = []
        for endpoint in self.static_peers:
            try:
                blocks = await self.direct.fetch_setup(endpoint, address=address)
            except (OSError, TimeoutError, SyncError, DecodeError) as exc:
                failures.append(f"{endpoint}: {exc}")
                continue
            await put_many(store.blocks, blocks.items())
            await store.blocks.sync()
            _log.info("fetched database setup", extra={"address": address, "peer": endpoint, "blocks": len(blocks)})
            return True
        raise NotFound(f"the manifest of {address} is not here and no static peer served it: {'; '.join(failures)}")

    async def detach(self, address: str) -> None:
        """Stop replicating ``address`` (before its database closes). Does nothing when not replicated."""
        async with self._lock:
            found = self._replicators.get(address)
            if found is not None:
                await self._stop(address, found)

    async def _stop(self, address: str, replicator: Replicator) -> None:
        self._replicators.pop(address, None)
        try:
            await replicator.aclose()
        except SyncError as exc:  # a background failure: reported, not raised at shutdown
            _log.warning("replicator stopped with an error", extra={"address": address, "error": str(exc)})

    async def status(self, address: str) -> ReplicatorStatus | None:
        """The status of ``address``'s replicator, or ``None`` when it is not replicated."""
        found = self._replicators.get(address)
        return await found.status() if found is not None else None

    async def aclose(self) -> None:
        """Stop every replicator, then the direct node. Safe to call twice."""
        async with self._lock:
            if self._closed:
                return
            self._closed = True
            for address, replicator in list(self._replicators.items()):
                await self._stop(address, replicator)
        if self.direct is not None:
            await self.direct.aclose()
