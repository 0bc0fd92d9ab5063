"""The access part of :class:`~orbitstore.api.local.LocalAPI`: the access controller, grant and revoke."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orbitstore.access.ipfs import IPFSAccessController
from orbitstore.access.orbitdb import OrbitDBAccessController
from orbitstore.api import _dataset
from orbitstore.api._validate import check_text
from orbitstore.api.errors import InvalidRequest, NotAvailable
from orbitstore.api.models import AccessInfo
from orbitstore.databases import Database
from orbitstore.databases.dataset import CAPABILITIES, Dataset
from orbitstore.errors import DatabaseError


class _Access:
    """Who may do what in a database, and changing it where the controller allows."""

    if TYPE_CHECKING:  # provided by the other parts of LocalAPI

        async def _database(self, db: str) -> Database: ...

    async def access(self, db: str) -> AccessInfo:
        """The access controller of ``db`` and its capabilities."""
        return await self._access_info(await self._database(db))

    async def _access_info(self, target: Database) -> AccessInfo:
        access = target.access
        address = target.manifest.access_controller
        if isinstance(access, IPFSAccessController):
            return AccessInfo(type="ipfs", address=address, mutable=False, capabilities={"write": tuple(access.write)})
        if isinstance(access, OrbitDBAccessController):
            caps = await access.capabilities()
            return AccessInfo(
                type="orbitdb", address=address, mutable=True, capabilities={k: tuple(v) for k, v in caps.items()}
            )
        if isinstance(target, Dataset):
            return await _dataset.dataset_access(target)
        raise NotAvailable(f"access controller {target.manifest.access_controller_type!r}")

    async def grant(self, db: str, capability: str, identity_id: str) -> AccessInfo:
        """Give ``identity_id`` the ``capability`` (``write``, ``admin``; ``read`` for datasets)."""
        target = await self._database(db)
        capability = check_text(capability, "capability", max_length=64)
        check_text(identity_id, "id")
        await self._mutable_access(target, capability).grant(capability, identity_id)
        return await self._access_info(target)

    async def revoke(self, db: str, capability: str, identity_id: str) -> AccessInfo:
        """Take ``capability`` from ``identity_id`` (for datasets, causally: see docs/dataset.md)."""
        target = await self._database(db)
        capability = check_text(capability, "capability", max_length=64)
        check_text(identity_id, "id")
        await self._mutable_access(target, capability).revoke(capability, identity_id)
        return await self._access_info(target)

    def _mutable_access(self, target: Database, capability: str) -> OrbitDBAccessController | Dataset:
        if isinstance(target, Dataset):
            if capability not in CAPABILITIES:
                raise InvalidRequest(f"unknown capability {capability!r} (known: {', '.join(CAPABILITIES)})")
            return target  # GRANT and REVOKE are operations in the dataset's own log
        access = target.access
        if isinstance(access, OrbitDBAccessController):
            return access
        if isinstance(access, IPFSAccessController):
            raise DatabaseError(
                f"{target.address} has an immutable 'ipfs' access controller; "
                "create the database with access_controller={'type': 'orbitdb'} to grant and revoke"
            )
        raise NotAvailable(f"access controller {target.manifest.access_controller_type!r}")
