"""Erasure: an admin-signed ERASE deletes a record's blocks on every honouring peer; the log stays verifiable."""

from __future__ import annotations

from pathlib import Path

import pytest

import orbitstore
from orbitstore.codec import encode
from orbitstore.databases.dataset import Dataset
from orbitstore.databases.dataset.ops import erase_payload
from orbitstore.errors import AccessDenied, DatabaseError, VerifyError
from tests.databases.test_dataset import create, open_on, peers, raw_log, rows, sync
from tests.encryption.helpers import add_reader, create_encrypted

ROWS = [{"age": 50 + i, "name": f"person {i}"} for i in range(4)]


async def _forge(db: Dataset, payload: dict[str, object]) -> str:
    forged = await raw_log(db)
    for head in await db.heads():
        await forged.join_entry(head)
    return (await forged.append(payload)).hash


async def _verify_log(db: Dataset) -> None:
    for entry in await db.log.values():
        await entry.verify(db.store.identities)


async def test_erase_deletes_every_version_and_keeps_the_log_verifiable() -> None:
    async with peers("alice") as (a,):
        db = await create(a)
        await db.put("p1", {"age": 1, "name": "first version"})
        await db.put("p1", {"age": 2, "name": "second version"})
        await db.put("p2", {"age": 3})
        versions = db._record_blocks("p1", [h.hash for h in await db.heads()])
        assert len(versions) == 2
        before = await db.snapshot()
        h = await db.erase("p1")
        assert [await a.blocks.get(k) for k in versions] == [None, None]
        assert await db.get("p1") is None and await db.count() == 1
        assert [r.id for r in await db.all()] == ["p2"]
        await _verify_log(db)  # every entry, the PUTs of p1 included, still verifies
        after = await db.snapshot()
        assert await after.ids() == ["p2"] and after.records == 1
        await after.verify()
        with pytest.raises(VerifyError, match="missing"):
            await before.verify()  # an earlier snapshot's rows can no longer be recomputed here
        # ...but its materialized table, made before the erasure, still holds the row (docs/encryption.md)
        assert "second version" in [row["name"] async for row in before.rows()]
        entry = await db.log.get(h)
        assert entry is not None and entry.payload["op"] == "ERASE"
        assert sorted(str(link) for link in entry.payload["value"]) == sorted(versions)


async def test_erasure_reaches_a_replica_and_is_never_undone_by_a_stale_peer() -> None:
    async with peers("alice", "bob", "stale", "late") as (a, b, s, late):
        db_a = await create(a)
        await db_a.put_many(ROWS, id_column="name")  # one PUTS entry, one block per record
        db_b = await open_on(b, db_a)
        stale = await open_on(s, db_a)
        await sync(db_a, db_b)
        await sync(db_a, stale)
        key = db_b._index.lookup("person 1")
        assert key is not None and await b.blocks.get(key) is not None
        await db_a.erase("person 1")
        await sync(db_a, db_b)
        assert await b.blocks.get(key) is None  # the replica deleted its copy
        assert [r["name"] for r in await rows(db_b)] == ["person 0", "person 2", "person 3"]
        assert await s.blocks.get(key) is not None  # a peer that has not seen (or ignores) the ERASE keeps it
        # a newcomer fetching blocks from the stale peer never stores the erased one

        db_late = await open_on(late, db_a)

        async def from_stale(k: str) -> bytes | None:
            return await s.blocks.get(k) or await a.blocks.get(k)

        for head in await db_a.heads():
            entry = await db_a.log.get(head.hash)
            assert entry is not None
            await db_late.join_entry(entry, fetch=from_stale)
        assert await late.blocks.get(key) is None
        assert await db_late.count() == 3 and await db_late.missing() == []
        assert (await db_late.snapshot()).cid == (await db_a.snapshot()).cid == (await db_b.snapshot()).cid


async def test_only_admins_erase_and_an_erase_must_name_every_block() -> None:
    async with peers("alice", "bob") as (a, b):
        db_a = await create(a, write=[b.identity.id])
        await db_a.put("p1", {"age": 1})
        await db_a.put("p1", {"age": 2})
        db_b = await open_on(b, db_a)
        await sync(db_a, db_b)
        with pytest.raises(AccessDenied, match="admin"):
            await db_b.erase("p1")
        one = sorted(db_a._record_blocks("p1", [h.hash for h in await db_a.heads()]))[:1]
        h = await _forge(db_a, erase_payload("p1", one))
        with pytest.raises(DatabaseError, match="causal past holds"):
            await sync(db_a, db_b, heads=[h])
        assert await db_b.get("p1") == {"age": 2, "bmi": None, "name": None, "sick": None}


async def test_erasing_an_encrypted_record_reaches_readers() -> None:
    async with peers("alice", "bob") as (a, b):
        db_a = await create_encrypted(a)
        await db_a.put("p1", {"age": 1, "name": "secret"})
        await db_a.put("p2", {"age": 2})
        db_b = await add_reader(db_a, b)
        assert await db_b.get("p1") is not None
        key = db_b._index.lookup("p1")
        await db_a.erase("p1")
        await sync(db_a, db_b)
        assert key is not None and await b.blocks.get(key) is None
        assert await db_b.get("p1") is None and [r["age"] for r in await rows(db_b)] == [2]


async def test_a_record_written_again_after_erasure_is_a_new_record() -> None:
    async with peers("alice") as (a,):
        db = await create_encrypted(a)
        await db.put("p1", {"age": 1})
        await db.erase("p1")
        await db.put("p1", {"age": 7})  # sealed with a fresh nonce: a new block, not the erased one
        assert await db.get("p1") == {"age": 7, "bmi": None, "name": None, "sick": None}
        assert encode(await db.get("p1")) == encode({"age": 7, "bmi": None, "name": None, "sick": None})


async def test_opening_finishes_an_interrupted_erasure_and_skips_a_finished_one(tmp_path: Path) -> None:
    async with orbitstore.open(tmp_path, identity="alice") as store:
        db = await create(store)
        await db.put("p1", {"age": 1})
        await db.put("p2", {"age": 2})
        key = db._index.lookup("p1")
        assert key is not None
        block = await store.blocks.get(key)
        assert block is not None
        await db.erase("p1")
        assert await store.blocks.get(key) is None
        address = str(db.address)
        await store.blocks.put(key, block)  # the erased block again, as if its deletion had not happened
    async with orbitstore.open(tmp_path, identity="alice") as store:
        await store.open(address)
        assert await store.blocks.get(key) == block  # the erasure pass was recorded as done: not run again
        index = store.storage(f"db-index/{address.split('/')[-1]}")
        await index.delete("erasures-done")  # a crash before the pass completed: nothing recorded
    async with orbitstore.open(tmp_path, identity="alice") as store:
        db = await store.open(address)
        assert await store.blocks.get(key) is None  # opening finished it
        assert await db.get("p2") == {"age": 2, "bmi": None, "name": None, "sick": None}
