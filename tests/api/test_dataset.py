"""The StoreAPI contract for datasets: records, CSV in and out, schema, snapshots, causal access."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orbitstore.api import InvalidRequest, Item, StoreAPI
from orbitstore.errors import NotFound, SchemaError

CSV = b"id,age,bmi,sick\np1,54,27.1,true\np2,31,22.5,false\np3,67,30.2,true\n"


async def test_records_put_get_page_query_delete(api: StoreAPI) -> None:
    info = await api.create("patients", type="dataset")
    assert info.type == "dataset" and info.access_controller.startswith("/dataset/")
    assert (await api.node()).features["dataset"]
    with pytest.raises(NotFound):
        await api.schema("patients")  # no schema yet
    schema = await api.set_schema(
        "patients", {"columns": {"age": "int", "bmi": "float", "sick": "bool"}, "target": "sick"}
    )
    assert schema["target"] == "sick" and [c["name"] for c in schema["columns"]] == ["age", "bmi", "sick"]
    assert await api.schema("patients") == schema
    for i in range(5):
        await api.put("patients", {"age": 30 + i, "bmi": 20.5 + i, "sick": i % 2 == 0}, key=f"p{i}")
    item = await api.get("patients", "p2")
    assert item.key == "p2" and item.value == {"age": 32, "bmi": 22.5, "sick": True}
    assert item.hash.startswith("zdpu")  # the record block's CID
    first = await api.iterate("patients", limit=3)
    second = await api.iterate("patients", limit=3, cursor=first.cursor)
    assert second.cursor is None
    assert [i.key for i in first.items + second.items] == [f"p{i}" for i in range(5)]  # the dataset's order
    sick = await api.query("patients", where={"sick": True})
    assert [i.key for i in sick] == ["p0", "p2", "p4"]
    await api.delete("patients", "p2")
    with pytest.raises(NotFound):
        await api.get("patients", "p2")
    with pytest.raises(SchemaError):
        await api.put("patients", {"age": "old", "bmi": 1.0, "sick": False}, key="bad")
    with pytest.raises(InvalidRequest):
        await api.put("patients", {"age": 1}, key=None)
    with pytest.raises(InvalidRequest):
        await api.put("patients", [1, 2], key="list")
    with pytest.raises(NotFound):
        await api.get("patients", "bad")
    with pytest.raises(SchemaError):  # changing a column's type is not an evolution
        await api.set_schema("patients", {"columns": {"age": "str", "bmi": "float", "sick": "bool"}})


async def test_csv_import_export_snapshot(api: StoreAPI) -> None:
    await api.create("imported", type="dataset")
    progress: list[tuple[int, int | None]] = []
    result = await api.import_csv(
        "imported", CSV, id_column="id", target="sick", progress=lambda done, total: progress.append((done, total))
    )
    assert result.rows == 3 and result.address.startswith("/orbitdb/") and result.heads
    assert progress and progress[-1][0] == len(CSV)
    schema = await api.schema("imported")
    assert schema["target"] == "sick"
    assert (await api.get("imported", "p3")).value == {"id": "p3", "age": 67, "bmi": 30.2, "sick": True}

    async def chunks() -> AsyncIterator[bytes]:
        for line in (b"id,age,bmi,sick\n", b"p4,45,", b"25.0,false\n"):
            await asyncio.sleep(0)
            yield line

    more = await api.import_csv("imported", chunks(), id_column="id")
    assert more.rows == 1
    exported = b"".join([chunk async for chunk in api.export_csv("imported")])
    lines = exported.decode().splitlines()
    assert lines[0] == "record_id,id,age,bmi,sick"  # the schema has its own "id" column
    assert sorted(lines[1:]) == [
        "p1,p1,54,27.1,true",
        "p2,p2,31,22.5,false",
        "p3,p3,67,30.2,true",
        "p4,p4,45,25.0,false",
    ]
    snap = await api.snapshot("imported")
    assert snap.cid.startswith("zdpu") and snap.records == 4 and snap.address == result.address
    assert list(snap.heads) == await api.heads("imported")
    again = await api.snapshot("imported")
    assert again.cid == snap.cid  # same heads, same version
    with pytest.raises(SchemaError):
        await api.import_csv("imported", b"id,age,bmi,sick\np9,notanumber,1.0,true\n", id_column="id")
    assert (await api.snapshot("imported")).cid == snap.cid  # nothing stored
    events = await api.create("not-a-dataset", type="events")
    with pytest.raises(InvalidRequest):
        await api.import_csv(events.address, CSV)
    with pytest.raises(InvalidRequest):
        await api.snapshot(events.address)


async def test_dataset_access_is_causal_and_mutable(api: StoreAPI) -> None:
    await api.create("team-data", type="dataset")
    me = (await api.node()).identity_id
    other = "02" + "ef" * 32
    access = await api.access("team-data")
    assert access.type == "dataset" and access.mutable and access.capabilities == {"admin": (me,)}
    granted = await api.grant("team-data", "write", other)
    assert granted.capabilities["write"] == (other,)
    read = await api.grant("team-data", "read", other)
    assert read.capabilities["read"] == (other,)
    revoked = await api.revoke("team-data", "write", other)
    assert "write" not in revoked.capabilities
    with pytest.raises(ValueError):
        await api.grant("team-data", "fly", other)


async def test_dataset_items_in_changes(api: StoreAPI) -> None:
    await api.create("watched", type="dataset")
    await api.set_schema("watched", {"columns": {"x": "int"}})
    async with await api.subscribe("watched") as changes:
        h = await api.put("watched", {"x": 1}, key="r1")
        change = await asyncio.wait_for(anext(aiter(changes)), 5)
    assert change.entries[0].hash == h and change.entries[0].op == "PUT" and change.entries[0].key == "r1"
    assert isinstance(await api.get("watched", "r1"), Item)


async def test_anchor_a_snapshot_and_verify(api: StoreAPI) -> None:
    assert (await api.node()).features["anchoring"]
    await api.create("anchored", type="dataset")
    await api.import_csv("anchored", CSV, id_column="id")
    snap = await api.snapshot("anchored")
    submitted = await api.anchor(snap.cid, wait=True)
    assert submitted.status == "anchored" and submitted.receipt and submitted.reason is None
    assert submitted.backend and "NOT A PUBLIC CHAIN" in submitted.backend
    assert await api.anchor_status(snap.cid) == submitted
    by_cid = await api.verify(snap.cid)
    by_receipt = await api.verify(submitted.receipt)
    for result in (by_cid, by_receipt):
        assert result.ok and result.failed is None and result.cid == snap.cid
        assert result.receipt == submitted.receipt and len(result.checks) == 3
        assert result.description and "not a public chain" in result.description.lower()
    again = await api.anchor(snap.cid, wait=True)  # anchoring again makes a new record and receipt
    assert again.status == "anchored" and again.receipt and again.receipt != submitted.receipt
    assert (await api.verify(again.receipt)).ok
    other = await api.create("plain", type="events")
    entry = await api.add(other.address, {"not": "anchored"})
    with pytest.raises(NotFound):
        await api.verify(entry)  # neither a receipt nor anchored here
    with pytest.raises(NotFound):
        await api.anchor_status(entry)
    with pytest.raises(ValueError):
        await api.anchor("not-a-cid")


async def test_verify_fails_on_a_tampered_ledger(api: StoreAPI, tmp_path: Path) -> None:
    info = await api.create("events-to-anchor", type="events")
    entry = await api.add(info.address, {"anchor": "me"})
    anchored = await api.anchor(entry, wait=True)
    assert anchored.status == "anchored" and (await api.verify(entry)).ok
    ledger = tmp_path / "node" / "anchors" / "ledger" / "anchors.ledger"
    lines = ledger.read_bytes().splitlines(keepends=True)
    record = json.loads(lines[-1])
    record["count"] = record["count"] + 1  # a record rewritten after the fact
    lines[-1] = json.dumps(record, separators=(",", ":")).encode() + b"\n"
    ledger.write_bytes(b"".join(lines))
    result = await api.verify(entry)
    assert not result.ok and result.failed and "tamper" in result.failed.lower()
    assert result.backend and "NOT A PUBLIC CHAIN" in result.backend
