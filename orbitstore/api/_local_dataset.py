"""The dataset part of :class:`~orbitstore.api.local.LocalAPI`: CSV import and export, schema, snapshots."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orbitstore.api import _dataset
from orbitstore.api._validate import check_text
from orbitstore.api.errors import InvalidRequest
from orbitstore.api.models import ImportResult, SnapshotInfo
from orbitstore.api.protocol import ProgressCallback
from orbitstore.databases import Database
from orbitstore.databases.dataset import Dataset
from orbitstore.errors import NotFound
from orbitstore.store import OrbitStore


class _DatasetCalls:
    """Calls on dataset databases (the work is in :mod:`orbitstore.api._dataset`)."""

    store: OrbitStore

    if TYPE_CHECKING:  # provided by the other parts of LocalAPI

        async def _database(self, db: str) -> Database: ...

    async def _dataset(self, db: str) -> Dataset:
        target = await self._database(db)
        if not isinstance(target, Dataset):
            raise InvalidRequest(f"{target.address} is {target.type!r}, not a dataset")
        return target

    def _spool_directory(self) -> Path | None:
        return self.store.directory

    async def import_csv(
        self,
        db: str,
        source: bytes | AsyncIterable[bytes],
        *,
        id_column: str | None = None,
        target: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> ImportResult:
        """Import CSV into a dataset (the source is spooled to a file in the data directory first)."""
        dataset = await self._dataset(db)
        if id_column is not None:
            check_text(id_column, "id_column", max_length=256)
        if target is not None:
            check_text(target, "target", max_length=256)
        return await _dataset.import_csv(
            dataset,
            source,
            progress=progress,
            id_column=id_column,
            target=target,
            spool_directory=self._spool_directory(),
        )

    async def export_csv(self, db: str) -> AsyncIterator[bytes]:
        """The dataset's live records as CSV (``id`` first), in chunks."""
        dataset = await self._dataset(db)
        async for chunk in _dataset.export_chunks(dataset, spool_directory=self._spool_directory()):
            yield chunk

    async def schema(self, db: str) -> dict[str, Any]:
        """The dataset's schema; :class:`NotFound` before one is set."""
        dataset = await self._dataset(db)
        current = await dataset.schema()
        if current is None:
            raise NotFound(f"{dataset.address} has no schema yet")
        return current.to_wire()

    async def set_schema(self, db: str, schema: Mapping[str, Any]) -> dict[str, Any]:
        """Set or evolve the schema (admins only)."""
        dataset = await self._dataset(db)
        return (await dataset.set_schema(_dataset.parse_schema(schema))).to_wire()

    async def snapshot(self, db: str) -> SnapshotInfo:
        """Freeze the dataset at its current heads."""
        return await _dataset.snapshot_info(await self._dataset(db))
