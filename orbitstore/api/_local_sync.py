"""The sync part of :class:`~orbitstore.api.local.LocalAPI`: peers and replication status."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orbitstore.api._sync import SyncService
from orbitstore.api.errors import NotAvailable
from orbitstore.api.models import PeerInfo, SyncStatus
from orbitstore.databases import Database


class _SyncCalls:
    """Questions to the :class:`SyncService`; :class:`NotAvailable` without one."""

    sync: SyncService | None

    if TYPE_CHECKING:  # provided by the other parts of LocalAPI

        def _check_open(self) -> None: ...

        async def _database(self, db: str) -> Database: ...

    def _sync(self, what: str) -> SyncService:
        self._check_open()
        if self.sync is None:
            raise NotAvailable("sync", what)
        return self.sync

    async def peers(self) -> list[PeerInfo]:
        """The peers present on any replicated database, with their endpoint and the databases shared."""
        sync = self._sync("peers")
        shared: dict[str, list[str]] = {}
        addresses: dict[str, set[str]] = {}
        for address, replicator in sorted(sync.replicators().items()):
            status = await replicator.status()
            for peer in status.peers:
                if peer.present:
                    shared.setdefault(peer.peer, []).append(address)
                    if peer.endpoint is not None:
                        addresses.setdefault(peer.peer, set()).add(peer.endpoint)
        return [
            PeerInfo(peer_id=peer, addresses=tuple(sorted(addresses.get(peer, ()))), databases=tuple(dbs))
            for peer, dbs in sorted(shared.items())
        ]

    async def sync_status(self, db: str) -> SyncStatus:
        """Replication state of ``db`` (opened, and so replicated, when it is not open yet); never waits."""
        sync = self._sync("sync status")
        target = await self._database(db)
        status = await sync.status(str(target.address))
        if status is None:  # e.g. opened by the library, not through this API
            status = await (await sync.attach(target)).status()
        present = tuple(p.peer for p in status.peers if p.present)
        return SyncStatus(
            address=status.address,
            synced=status.synced,
            peers=len(present),
            missing=status.heads_known - status.heads_joined,
            mode=status.mode,
            peer_ids=present,
            heads_known=status.heads_known,
            heads_joined=status.heads_joined,
            pending=status.pending_joins,
            joined_entries=status.stats.joined_entries,
        )
