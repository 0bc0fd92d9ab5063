"""Shared helpers for encrypted-dataset tests."""

from __future__ import annotations

from typing import Any

from orbitstore.databases.dataset import Dataset
from orbitstore.store import OrbitStore
from tests.databases.test_dataset import SCHEMA, open_on, sync


async def create_encrypted(
    store: OrbitStore, *, write: list[str] | None = None, admin: list[str] | None = None
) -> Dataset:
    """An encrypted dataset on ``store`` (its identity is the admin) with the test schema set."""
    options: dict[str, Any] = {"type": "dataset", "encrypted": True, "write": write or []}
    if admin is not None:
        options["admin"] = admin
    db: Dataset = await store.open("patients", type="dataset", access_controller=options)
    await db.set_schema(SCHEMA)
    return db


async def add_reader(admin: Dataset, store: OrbitStore) -> Dataset:
    """Open ``admin``'s dataset on ``store``, sync it there and grant that node read with its reader key."""
    db = await open_on(store, admin)
    await sync(admin, db)
    await admin.grant("read", store.identity.id, reader_key=await db.reader_key())
    await sync(admin, db)
    return db


async def blocks_of(store: OrbitStore) -> dict[str, bytes]:
    """Every block a store holds."""
    return {key: value async for key, value in store.blocks.items()}
