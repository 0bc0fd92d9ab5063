"""Snapshot → DataFrame: order, dtypes from the schema, batches, features and their encoding."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

import mlbridge
from mlbridge.features import FeatureSpec, scan_spec
from orbitstore.errors import ModelError
from orbitstore.store import OrbitStore
from tests.mlbridge.conftest import Table

MIXED = {
    "age": {"type": "int", "nullable": False},
    "visits": "int",
    "bmi": "float",
    "smoker": "bool",
    "seen": "timestamp",
    "ward": "category",
    "note": "str",
    "scan": "bytes",
    "sick": {"type": "bool", "nullable": False},
}


async def mixed(store: OrbitStore, rows: int = 25) -> Table:
    db = await store.open("mixed", type="dataset", access_controller={"type": "dataset"})
    await db.set_schema(MIXED, target="sick")
    data = []
    for i in range(rows):
        data.append(
            {
                "age": 20 + i,
                "visits": None if i % 5 == 0 else i,
                "bmi": None if i % 7 == 0 else 20.5 + i / 4,
                "smoker": None if i % 6 == 0 else i % 2 == 0,
                "seen": datetime(2024, 1, 1 + i % 28, tzinfo=UTC),
                "ward": None if i % 9 == 0 else ["oncology", "cardio", "Émergence"][i % 3],
                "note": f"note {i}",
                "scan": bytes([i]),
                "sick": i % 3 == 0,
            }
        )
    ids = [f"p{i:03d}" for i in range(rows)]
    for record_id, row in zip(ids, data, strict=True):
        await db.put(record_id, row)
    return Table(db, data, ids, await db.snapshot())


async def test_dtypes_and_order_follow_the_schema(store: OrbitStore) -> None:
    table = await mixed(store)
    frame = await mlbridge.to_frame(table.snapshot)
    assert list(frame.index) == await table.snapshot.ids()
    assert list(frame.columns) == list(MIXED)
    assert str(frame["age"].dtype) == "int64"
    assert str(frame["visits"].dtype) == "Int64"
    assert frame["visits"].isna().sum() == 5
    assert frame["bmi"].dtype == np.float64 and frame["bmi"].isna().sum() == 4
    assert str(frame["smoker"].dtype) == "boolean"
    assert str(frame["sick"].dtype) == "bool"
    assert str(frame["seen"].dtype) == "datetime64[ms, UTC]"
    assert frame["seen"].iloc[0] == pd.Timestamp("2024-01-01", tz="UTC")
    assert isinstance(frame["ward"].dtype, pd.CategoricalDtype)
    assert list(frame["ward"].cat.categories) == ["cardio", "oncology", "Émergence"]
    assert str(frame["note"].dtype) == "string"
    assert frame["scan"].dtype == object and frame["scan"].iloc[3] == b"\x03"
    rows = [row async for row in table.snapshot.rows()]
    assert frame["bmi"].iloc[1] == rows[1]["bmi"]
    assert frame["ward"].iloc[1] == rows[1]["ward"]


async def test_iter_frames_streams_the_same_rows(store: OrbitStore) -> None:
    table = await mixed(store, rows=23)
    whole = await mlbridge.to_frame(table.snapshot, columns=["age", "bmi", "seen", "note"])
    parts = [
        f async for f in mlbridge.iter_frames(table.snapshot, batch_rows=5, columns=["age", "bmi", "seen", "note"])
    ]
    assert [len(p) for p in parts] == [5, 5, 5, 5, 3]
    pd.testing.assert_frame_equal(pd.concat(parts), whole)
    with pytest.raises(ModelError):
        await mlbridge.to_frame(table.snapshot, columns=["nope"])


async def test_features_default_to_usable_columns_and_encode_deterministically(store: OrbitStore) -> None:
    table = await mixed(store)
    frame = await mlbridge.to_frame(table.snapshot)
    spec = FeatureSpec.from_frame(table.snapshot.schema, frame)  # type: ignore[arg-type]
    assert [f.name for f in spec.features] == ["age", "visits", "bmi", "smoker", "seen", "ward"]
    assert spec.target.name == "sick" and spec.target.task == "classification"
    assert spec.target.classes == (False, True)
    X = spec.matrix(frame)
    assert X.shape == (25, 6) and X.dtype == np.float64
    ward = spec.features[-1]
    assert ward.encoding == "ordinal" and ward.categories == ("cardio", "oncology", "Émergence")
    codes = X[:, 5]
    assert np.isnan(codes[0])  # null → NaN
    assert codes[1] == 0.0 and codes[2] == 2.0  # cardio, Émergence
    assert X[1, 4] == datetime(2024, 1, 2, tzinfo=UTC).timestamp() * 1000
    assert spec == FeatureSpec.from_wire(spec.to_wire())
    streamed = await scan_spec(table.snapshot, batch_rows=4)
    assert streamed == spec

    hot = FeatureSpec.from_frame(table.snapshot.schema, frame, features=["ward", "note"], encoding="onehot")  # type: ignore[arg-type]
    assert hot.outputs[:3] == ("ward=cardio", "ward=oncology", "ward=Émergence")
    Xh = hot.matrix(frame)
    assert Xh.shape == (25, 3 + 25)
    assert Xh[0, :3].tolist() == [0.0, 0.0, 0.0] and Xh[1, :3].tolist() == [1.0, 0.0, 0.0]
    # an unseen category is missing, not a new code
    unseen = hot.matrix(hot.rows_frame([{"ward": "neurology", "note": "note 1"}]))
    assert unseen[0, :3].tolist() == [0.0, 0.0, 0.0]
    assert unseen[0, 3:].sum() == 1.0  # "note 1" is known


async def test_bad_feature_choices_are_refused(store: OrbitStore) -> None:
    table = await mixed(store)
    frame = await mlbridge.to_frame(table.snapshot)
    schema = table.snapshot.schema
    assert schema is not None
    with pytest.raises(ModelError, match="bytes"):
        FeatureSpec.from_frame(schema, frame, features=["scan"])
    with pytest.raises(ModelError, match="target"):
        FeatureSpec.from_frame(schema, frame, features=["sick"])
    with pytest.raises(ModelError, match="encoding"):
        FeatureSpec.from_frame(schema, frame, encoding="hash")
    spec = FeatureSpec.from_frame(schema, frame)
    with pytest.raises(ModelError, match="unknown columns"):
        spec.rows_frame([{"agee": 3}])


async def test_regression_target_from_float(diabetes: Table) -> None:
    frame = await mlbridge.to_frame(diabetes.snapshot)
    spec = FeatureSpec.from_frame(diabetes.snapshot.schema, frame)  # type: ignore[arg-type]
    assert spec.target.task == "regression" and spec.target.classes == ()
    assert "id" not in [f.name for f in spec.features]  # str columns only when asked for
    assert spec.labels(frame).dtype == np.float64


async def test_encoded_batches_cover_the_snapshot(store: OrbitStore) -> None:
    table = await mixed(store, rows=23)
    spec = await scan_spec(table.snapshot)
    frame = await mlbridge.to_frame(table.snapshot)
    parts = [part async for part in mlbridge.batches(table.snapshot, spec, batch_rows=10)]
    assert [len(ids) for ids, _, _ in parts] == [10, 10, 3]
    np.testing.assert_array_equal(np.vstack([X for _, X, _ in parts]), spec.matrix(frame))
    assert np.concatenate([y for _, _, y in parts]).tolist() == spec.labels(frame).tolist()
