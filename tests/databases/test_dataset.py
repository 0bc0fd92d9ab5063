"""The dataset type: schemas, validation at the writer and at join, CSV, snapshots."""

from __future__ import annotations

import csv
import io
import math
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import orbitstore
from orbitstore.codec import CID
from orbitstore.databases.dataset import Dataset, Schema
from orbitstore.databases.dataset.ops import put_payload
from orbitstore.databases.dataset.records import encode_record
from orbitstore.errors import DatabaseError, DecodeError, NotFound, SchemaError
from orbitstore.log import Log
from orbitstore.store import OrbitStore

SCHEMA: dict[str, Any] = {"age": {"type": "int", "nullable": False}, "bmi": "float", "name": "str", "sick": "bool"}


# -- helpers (shared with the other dataset test modules) -----------------------------------------


@asynccontextmanager
async def peers(*names: str) -> AsyncIterator[list[OrbitStore]]:
    """In-memory stores sharing nothing, one identity each."""
    stores = [await orbitstore.open(identity=name) for name in names]
    try:
        yield stores
    finally:
        for store in stores:
            await store.aclose()


async def create(store: OrbitStore, *, write: list[str] | None = None, schema: Any = SCHEMA) -> Dataset:
    """A new dataset on ``store`` (its identity is the admin) with ``schema`` set."""
    db: Dataset = await store.open(
        "patients", type="dataset", access_controller={"type": "dataset", "write": write or []}
    )
    if schema is not None:
        await db.set_schema(schema)
    return db


async def open_on(store: OrbitStore, source: Dataset) -> Dataset:
    """Open ``source``'s address on another store: copy the manifests, then open by address."""
    for key in (source.address.manifest_hash, source.access.address.split("/")[-1]):  # type: ignore[attr-defined]
        block = await source.store.blocks.get(key)
        assert block is not None
        await store.blocks.put(key, block)
    db: Dataset = await store.open(str(source.address))
    return db


async def sync(src: Dataset, dst: Dataset, *, heads: list[str] | None = None) -> None:
    """Join ``src``'s heads (or the given entries) into ``dst``, fetching blocks from ``src``'s store."""

    async def fetch(key: str) -> bytes | None:
        return await src.store.blocks.get(key)

    for h in heads if heads is not None else [e.hash for e in await src.heads()]:
        entry = await src.log.get(h)
        assert entry is not None
        await dst.join_entry(entry, fetch=fetch)


async def raw_log(db: Dataset) -> Log:
    """A bare log on ``db``'s store and log id that checks nothing: to forge entries a peer might send."""
    return await Log.open(
        db.identity, identities=db.log.identities, log_id=str(db.address), entry_storage=db.store.blocks
    )


async def rows(db: Any) -> list[dict[str, Any]]:
    return [r async for r in db.rows()]


# -- schemas ------------------------------------------------------------------------------------------


def test_schema_values_and_wire_forms() -> None:
    schema = Schema.of(
        {
            "i": "int",
            "f": "float",
            "s": "str",
            "c": "category",
            "b": "bool",
            "raw": "bytes",
            "t": "timestamp",
        },
        target="c",
    )
    wire = schema.check_row(
        {"i": 3, "f": 2.0, "s": "x", "c": "a", "b": True, "raw": bytearray(b"\x01"), "t": "1970-01-01T00:00:01Z"}
    )
    assert list(wire) == ["b", "c", "f", "i", "s", "t", "raw"]  # DAG-CBOR key order
    assert wire["f"] == 2 and type(wire["f"]) is int  # integral floats travel as ints (JS rule)
    assert wire["t"] == 1000 and wire["raw"] == b"\x01"
    read = schema.read_row(wire)
    assert type(read["f"]) is float and read["f"] == 2.0
    assert schema.check_row({"t": datetime(2024, 1, 1, tzinfo=UTC)})["t"] == 1704067200000
    assert schema.check_row({"t": datetime(2024, 1, 1)})["t"] == 1704067200000  # naive = UTC
    assert Schema.from_wire(schema.to_wire()) == schema
    bad: list[tuple[dict[str, Any], str]] = [
        ({"i": True}, "'i'"),
        ({"i": 2**63}, "64 bits"),
        ({"f": math.nan}, "nan"),
        ({"f": math.inf}, "inf"),
        ({"s": 1}, "'s'"),
        ({"b": 1}, "'b'"),
        ({"t": "yesterday"}, "'t'"),
        ({"nope": 1}, "'nope'"),
    ]
    for row, needle in bad:
        with pytest.raises(SchemaError, match=needle):
            schema.check_row(row)


async def test_schema_evolution_rules() -> None:
    async with peers("alice") as (a,):
        db = await create(a)
        await db.add_columns(("smoker", "bool"))
        schema = await db.schema()
        assert schema is not None and schema.names == ("age", "bmi", "name", "sick", "smoker")
        await db.set_schema(schema, target="sick")
        assert (await db.schema()).target == "sick"  # type: ignore[union-attr]
        heads = [h.hash for h in await db.heads()]
        changed_type = Schema.of({**SCHEMA, "bmi": "str", "smoker": "bool"})
        dropped = Schema.of({"age": {"type": "int", "nullable": False}, "bmi": "float"})
        renamed = Schema.of({"years": "int", "bmi": "float", "name": "str", "sick": "bool", "smoker": "bool"})
        required = schema.with_columns([("weight", "float", False)])
        for bad, needle in [
            (changed_type, "cannot change type"),
            (dropped, "cannot be dropped"),
            (renamed, "cannot be dropped or renamed"),
            (required, "must be nullable"),
        ]:
            with pytest.raises(SchemaError, match=needle):
                await db.set_schema(bad)
        assert [h.hash for h in await db.heads()] == heads  # nothing was written


# -- validation ----------------------------------------------------------------------------------------


async def test_writer_refuses_a_record_breaking_the_schema() -> None:
    async with peers("alice") as (a,):
        db = await create(a)
        await db.put("p1", {"age": 40, "bmi": 22.5, "name": "Ann", "sick": False})
        heads = [h.hash for h in await db.heads()]
        with pytest.raises(SchemaError, match=r"column 'age'.*'forty'"):
            await db.put("p2", {"age": "forty"})
        with pytest.raises(SchemaError, match="'age' is not nullable"):
            await db.put("p2", {"bmi": 20.0})
        with pytest.raises(SchemaError, match=r"row 1 .*'bmi'"):
            await db.put_many([{"age": 1}, {"age": 2, "bmi": "x"}], batch_size=10)
        assert [h.hash for h in await db.heads()] == heads
        assert await db.count() == 1 and await db.get("p2") is None
        no_schema = await a.open("empty", type="dataset", access_controller={"type": "dataset"})
        with pytest.raises(SchemaError, match="no schema"):
            await no_schema.put("x", {"a": 1})


async def test_join_refuses_a_record_breaking_the_schema() -> None:
    async with peers("alice", "bob") as (a, b):
        db_a = await create(a, write=[b.identity.id])
        await db_a.put("p1", {"age": 40})
        db_b = await open_on(b, db_a)
        await sync(db_a, db_b)
        # Bob's software skips validation: a record with text in the int column, linked from a valid entry.
        block = encode_record("evil", {"age": "old"})
        await b.blocks.put(block.key, block.bytes)
        forged = await raw_log(db_b)
        await sync(db_a, db_b)
        for head in await db_b.heads():
            await forged.join_entry(head)
        entry = await forged.append(put_payload("evil", block.link))
        heads = [h.hash for h in await db_a.heads()]
        with pytest.raises(SchemaError, match=r"record 'evil'.*column 'age'.*'old'"):
            await sync(db_b, db_a, heads=[entry.hash])
        assert not await db_a.log.has(entry.hash)
        assert await a.blocks.get(block.key) is None  # nothing stored: neither the entry nor the record
        assert [h.hash for h in await db_a.heads()] == heads
        assert await db_a.count() == 1


async def test_entry_for_another_database_is_refused() -> None:
    async with peers("alice") as (a,):
        db = await create(a)
        other = await a.open("other", type="dataset", access_controller={"type": "dataset"})
        await other.set_schema(SCHEMA)
        await other.put("x", {"age": 1})
        (head,) = await other.heads()
        with pytest.raises(orbitstore.errors.LogError, match="belongs to log"):
            await db.join_entry(head)
        assert await db.count() == 0 and not await db.log.has(head.hash)


async def test_malformed_operation_is_refused() -> None:
    async with peers("alice") as (a,):
        db = await create(a)
        forged = await raw_log(db)
        for head in await db.heads():
            await forged.join_entry(head)
        entry = await forged.append({"op": "PUT", "key": "x", "value": "not a link"})
        with pytest.raises(DatabaseError, match="PUT value must be a link"):
            await db.join_entry(entry)
        forged = await raw_log(db)
        for head in await db.heads():
            await forged.join_entry(head)
        entry = await forged.append({"op": "ERASE", "key": "x", "value": None})
        with pytest.raises(DatabaseError, match="ERASE value must be a list"):
            await db.join_entry(entry)


# -- reads ---------------------------------------------------------------------------------------------


async def test_reads_order_deletes_and_missing_blocks() -> None:
    async with peers("alice") as (a,):
        db = await create(a)
        await db.put_many([{"age": i, "name": f"n{i}"} for i in range(5)], id_column="name", batch_size=2)
        await db.put("n1", {"age": 100})
        await db.delete("n3")
        assert await db.count() == 4
        assert [r.id for r in await db.all()] == ["n0", "n2", "n4", "n1"]  # order of last write
        assert await db.get("n1") == {"age": 100, "bmi": None, "name": None, "sick": None}
        assert await db.get("n3") is None and not await db.has("n3")
        # A record block that is gone (erased, or not replicated) is skipped with a status, not a crash.
        key = db._index.lookup("n2")
        assert key is not None
        await a.blocks.delete(key)
        assert [r.id for r in await db.all()] == ["n0", "n4", "n1"]
        assert await db.missing() == ["n2"]
        with pytest.raises(NotFound, match=r"'n2'.*missing"):
            await db.get("n2")
        snap = await db.snapshot()
        assert snap.records == 3 and snap.missing == ("n2",)
        assert [r["age"] for r in await rows(snap)] == [0, 4, 100]


async def test_reopen_rebuilds_the_index(tmp_path: Path) -> None:
    async with orbitstore.open(directory=tmp_path) as store:
        db = await create(store)
        await db.put_many([{"age": i} for i in range(30)], batch_size=7)
        await db.delete(next(iter([r.id for r in await db.all()])))
        before = await rows(db)
        address = str(db.address)
    async with orbitstore.open(directory=tmp_path) as store:
        again: Dataset = await store.open(address)
        assert await rows(again) == before
        assert await again.count() == 29


# -- snapshots -----------------------------------------------------------------------------------------


async def test_snapshot_is_reproducible_after_more_writes_and_elsewhere() -> None:
    async with peers("alice", "carol") as (a, c):
        db = await create(a)
        await db.put_many(
            [{"age": i, "bmi": i / 7, "name": f"p{i}", "sick": i % 3 == 0} for i in range(25)], batch_size=10
        )
        await db.put("nulls", {"age": -1})
        expected = await rows(db)
        snap = await db.snapshot()
        bare = await db.snapshot(materialize=False)
        assert snap.cid != bare.cid and bare.table is None
        assert (await db.snapshot()).cid == snap.cid  # same heads, same version
        assert snap.records == 26 and snap.entries == 5 and snap.schema == await db.schema()
        await db.put("later", {"age": 99})
        await db.delete("nulls")
        opened = await a.open_snapshot(snap.cid)
        assert opened == snap
        assert await rows(opened) == expected
        assert await rows(await a.open_snapshot(bare.cid)) == expected  # replayed from the heads
        await opened.verify()
        columns = await opened.columns()
        assert columns["age"][-1] == -1 and columns["bmi"][-1] is None and columns["bmi"][1] == 1 / 7
        batches = [b async for b in opened.batches(10)]
        assert [len(b["age"]) for b in batches] == [10, 10, 6]
        # Another peer holding the blocks reproduces the same rows in the same order.
        async for key, value in a.blocks.items():
            await c.blocks.put(key, value)
        elsewhere = await c.open_snapshot(snap.cid)
        assert await rows(elsewhere) == expected
        await elsewhere.verify()
        # And one that joins the log up to those heads computes the same version.
        db_c = await open_on(c, db)
        await sync(db, db_c, heads=list(snap.heads))
        assert (await db_c.snapshot()).cid == snap.cid
        with pytest.raises(NotFound):
            await c.open_snapshot("zdpuAnotthereXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX")


async def test_snapshot_verify_detects_a_wrong_table() -> None:
    async with peers("alice") as (a,):
        db = await create(a)
        await db.put_many([{"age": i} for i in range(3)])
        snap = await db.snapshot()
        other = await a.open("other", type="dataset", access_controller={"type": "dataset"})
        await other.set_schema(SCHEMA)
        await other.put_many([{"age": i} for i in range(4)])
        wrong = await other.snapshot()
        forged = type(snap)(
            cid=snap.cid,
            address=snap.address,
            heads=snap.heads,
            entries=snap.entries,
            records=snap.records,
            schema=snap.schema,
            table=wrong.table,
            missing=(),
            store=a,
        )
        with pytest.raises(orbitstore.errors.VerifyError, match="table"):
            await forged.verify()
        block = await a.blocks.get(snap.table)  # type: ignore[arg-type]
        assert block is not None
        with pytest.raises(DecodeError):
            await a.open_snapshot(snap.table)  # type: ignore[arg-type]


# -- CSV -------------------------------------------------------------------------------------------------


def _sklearn_csv(tmp_path: Path) -> tuple[Path, int]:
    """breast_cancer.csv from scikit-learn with a header line instead of its count line, else a generated CSV."""
    try:
        from sklearn.datasets import data as sk_data
    except ImportError:
        sk_data = None
    out = tmp_path / "data.csv"
    if sk_data is not None:
        source = Path(sk_data.__file__).parent / "breast_cancer.csv"
        lines = source.read_text().splitlines()
        n_rows, n_features = (int(x) for x in lines[0].split(",")[:2])
        header = ",".join([f"f{i}" for i in range(n_features)] + ["target"])
        out.write_text("\n".join([header, *lines[1:]]) + "\n")
        return out, n_rows
    rng = random.Random(1)
    with open(out, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["f0", "f1", "f2", "target"])
        for _ in range(300):
            writer.writerow(
                [round(rng.uniform(0, 30), 4), rng.randint(0, 9), round(rng.gauss(0, 1), 6), rng.randint(0, 1)]
            )
    return out, 300


async def test_csv_round_trip_with_progress(tmp_path: Path) -> None:
    path, n = _sklearn_csv(tmp_path)
    calls: list[tuple[int, int | None]] = []
    async with peers("alice") as (a,):
        db: Dataset = await a.open("csv", type="dataset", access_controller={"type": "dataset"})
        count = await db.import_csv(path, batch_size=100, target="target", progress=lambda d, t: calls.append((d, t)))
        assert count == n == await db.count()
        assert calls[-1] == (n, n) and [d for d, _ in calls] == sorted({d for d, _ in calls})
        assert len(calls) == math.ceil(n / 100)
        schema = await db.schema()
        assert schema is not None and schema.target == "target"
        assert schema.column("target").type == "int" and schema.column("f0").type == "float"
        out = tmp_path / "out.csv"
        assert await db.export_csv(out) == n
        original = list(csv.reader(io.StringIO(path.read_text())))
        exported = list(csv.reader(io.StringIO(out.read_text())))
        assert exported[0] == original[0]
        for got, want in zip(exported[1:], original[1:], strict=True):
            assert [float(x) for x in got] == [float(x) for x in want]
        # Importing the export into a dataset with that schema gives the same rows in the same order.
        again: Dataset = await a.open("csv-2", type="dataset", access_controller={"type": "dataset"})
        await again.import_csv(out, schema=schema)
        assert await rows(again) == await rows(db)


async def test_csv_types_nulls_and_errors() -> None:
    text = "id,when,flag,blob,score,label\na,2024-05-01T12:00:00Z,true,AAE=,1.5,x\nb,,false,,,y\n"
    async with peers("alice") as (a,):
        db: Dataset = await a.open("t", type="dataset", access_controller={"type": "dataset"})
        await db.import_csv(io.StringIO(text), id_column="id")
        schema = await db.schema()
        assert schema is not None
        assert [schema.column(n).type for n in ("id", "when", "flag", "score", "label")] == [
            "str",
            "timestamp",
            "bool",
            "float",
            "str",
        ]
        assert await db.get("a") == {
            "id": "a",
            "when": 1714564800000,
            "flag": True,
            "blob": "AAE=",
            "score": 1.5,
            "label": "x",
        }
        assert (await db.get("b"))["when"] is None  # type: ignore[index]
        out = io.StringIO()
        await db.export_csv(out, id_header="record")
        assert out.getvalue().splitlines()[1] == "a,a,2024-05-01T12:00:00.000Z,true,AAE=,1.5,x"
        with pytest.raises(SchemaError, match=r"line 2: column 'flag': 'maybe'"):
            await db.import_csv(io.StringIO("id,flag,label\nc,maybe,z\n"), id_column="id")
        with pytest.raises(SchemaError, match="not in the schema"):
            await db.import_csv(io.StringIO("id,other,label\nc,1,z\n"), id_column="id")
        raw = Schema.of({"data": "bytes", "n": {"type": "int", "nullable": False}})
        typed: Dataset = await a.open("bytes", type="dataset", access_controller={"type": "dataset"})
        await typed.import_csv(io.StringIO("data,n\nAAE=,1\n"), schema=raw)
        assert [r async for r in typed.rows()] == [{"data": b"\x00\x01", "n": 1}]
        with pytest.raises(SchemaError, match="'n' is not nullable"):
            await typed.import_csv(io.StringIO("data,n\nAAE=,\n"))


async def test_put_many_from_an_async_iterable_with_ids() -> None:
    async def gen() -> AsyncIterator[dict[str, Any]]:
        for i in range(7):
            yield {"age": i, "name": f"id-{i}"}

    seen: list[int] = []

    async def progress(done: int, total: int | None) -> None:
        seen.append(done)

    async with peers("alice") as (a,):
        db = await create(a)
        assert await db.put_many(gen(), id_column="name", batch_size=3, progress=progress) == 7
        assert seen == [3, 6, 7]
        assert (await db.get("id-4"))["age"] == 4  # type: ignore[index]
        with pytest.raises(SchemaError, match="id column"):
            await db.put_many([{"age": 1}], id_column="name")


async def test_anchors_are_recorded() -> None:
    async with peers("alice") as (a,):
        db = await create(a)
        await db.put("p", {"age": 1})
        snap = await db.snapshot()
        receipt = CID.parse(snap.table)  # type: ignore[arg-type]
        await db.record_anchor(snap.cid, receipt)
        assert await db.anchors() == {snap.cid: receipt}


async def test_locate_and_live_name_each_record_block_and_entry() -> None:
    async with peers("alice") as (a,):
        db = await create(a)
        first = await db.put("p1", {"age": 1})
        await db.put("p2", {"age": 2})
        second = await db.put("p1", {"age": 3})
        located = await db.locate("p1")
        assert located is not None and located.id == "p1" and located.entry == second != first
        assert await a.blocks.get(located.key) is not None
        assert [(r.id, r.entry) for r in await db.live()][-1] == ("p1", second)  # the dataset's order
        assert [r.id for r in await db.live()] == [r.id for r in await db.all()]
        await db.delete("p2")
        assert await db.locate("p2") is None
        assert [r.id for r in await db.live()] == ["p1"]
