"""Fixtures for the mlbridge tests: in-memory stores holding real health data shipped with scikit-learn.

Breast cancer (569 rows, 30 float features, target ``diagnosis``: malignant /
benign) for classification, diabetes (442 rows, 10 features, target
``progression``) for regression — put into ``dataset`` databases through the
dataset API, one record per patient.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes

import orbitstore
from orbitstore.databases.dataset import Dataset, Snapshot
from orbitstore.store import OrbitStore


@dataclass(frozen=True, slots=True)
class Table:
    """A dataset loaded into a database: its rows (with ids), the db and a snapshot of the first ``n``."""

    db: Dataset
    rows: list[dict[str, Any]]
    ids: list[str]
    snapshot: Snapshot


def cancer_rows() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The breast cancer data as schema columns and rows."""
    data = load_breast_cancer()
    names = [str(n) for n in data.feature_names]
    columns: dict[str, Any] = {n: {"type": "float", "nullable": False} for n in names}
    columns["diagnosis"] = {"type": "category", "nullable": False}
    rows = [
        {**dict(zip(names, map(float, x), strict=True)), "diagnosis": str(data.target_names[t])}
        for x, t in zip(data.data, data.target, strict=True)
    ]
    return columns, rows


def diabetes_rows() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The diabetes data (unscaled: age in years, sex 1/2 as a category) as schema columns and rows."""
    data = load_diabetes(scaled=False)
    names = [str(n) for n in data.feature_names]
    columns: dict[str, Any] = {n: "float" for n in names}
    columns["sex"] = "category"
    columns["progression"] = {"type": "float", "nullable": False}
    rows = []
    for x, t in zip(data.data, data.target, strict=True):
        row: dict[str, Any] = dict(zip(names, map(float, x), strict=True))
        row["sex"] = "female" if row["sex"] == 1.0 else "male"
        row["progression"] = float(t)
        rows.append(row)
    return columns, rows


async def load_table(
    store: OrbitStore, name: str, columns: dict[str, Any], rows: list[dict[str, Any]], *, target: str, first: int
) -> Table:
    """Create dataset ``name`` (columns plus a str ``id``), put ``rows[:first]`` (ids ``<name>-0000``…), snapshot."""
    db: Dataset = await store.open(name, type="dataset", access_controller={"type": "dataset"})
    await db.set_schema({**columns, "id": "str"}, target=target)
    ids = [f"{name}-{i:04d}" for i in range(len(rows))]
    await db.put_many([{"id": i, **r} for i, r in zip(ids[:first], rows[:first], strict=True)], id_column="id")
    return Table(db, rows, ids, await db.snapshot())


async def add_rows(table: Table, start: int, stop: int) -> Snapshot:
    """Put rows ``start:stop`` of the table and return a new snapshot."""
    batch = [{"id": i, **r} for i, r in zip(table.ids[start:stop], table.rows[start:stop], strict=True)]
    await table.db.put_many(batch, id_column="id")
    return await table.db.snapshot()


@pytest.fixture
async def store() -> AsyncIterator[OrbitStore]:
    """An in-memory store with identity ``trainer``."""
    async with orbitstore.open(identity="trainer") as opened:
        yield opened


@pytest.fixture
async def cancer(store: OrbitStore) -> Table:
    """Breast cancer, all 569 rows, snapshotted."""
    columns, rows = cancer_rows()
    return await load_table(store, "cancer", columns, rows, target="diagnosis", first=len(rows))


@pytest.fixture
async def diabetes(store: OrbitStore) -> Table:
    """Diabetes, all 442 rows, snapshotted."""
    columns, rows = diabetes_rows()
    return await load_table(store, "diabetes", columns, rows, target="progression", first=len(rows))
