"""Encrypted datasets: readers with a key read, everyone else verifies and relays but reads nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

import orbitstore
from orbitstore.codec import decode
from orbitstore.databases.dataset import Dataset
from orbitstore.databases.dataset.ops import grant_payload, put_payload, revoke_payload
from orbitstore.databases.dataset.records import encode_record
from orbitstore.encryption.records import SealedRecord, seal_row
from orbitstore.errors import (
    AccessDenied,
    DatabaseError,
    EncryptionError,
    NotAuthorizedToRead,
    NotFound,
    SchemaError,
)
from tests.databases.test_dataset import open_on, peers, raw_log, rows, sync
from tests.encryption.helpers import add_reader, blocks_of, create_encrypted

ROWS = {
    "p1": {"age": 54, "bmi": 27.5, "name": "Ada Lovelace", "sick": False},
    "p2": {"age": 31, "bmi": None, "name": "Grace Hopper", "sick": True},
}


async def _forge(db: Dataset, payload: dict[str, object]) -> str:
    forged = await raw_log(db)
    for head in await db.heads():
        await forged.join_entry(head)
    return (await forged.append(payload)).hash


async def test_reader_reads_relay_verifies_and_stores_but_cannot_read() -> None:
    async with peers("alice", "bob", "relay") as (a, b, r):
        db_a = await create_encrypted(a)
        for rid, row in ROWS.items():
            await db_a.put(rid, row)  # the admin's first write grants it read: epoch 1
        assert db_a.encrypted and [x async for x in db_a.rows()] == list(ROWS.values())
        relay = await open_on(r, db_a)
        await sync(db_a, relay)  # every entry verified (signatures, identities, access, sealed blocks)
        assert await relay.count() == 2 and await relay.missing() == []
        with pytest.raises(NotAuthorizedToRead):
            await relay.get("p1")
        with pytest.raises(NotAuthorizedToRead):
            await rows(relay)
        for block in (await blocks_of(r)).values():
            assert b"Lovelace" not in block and b"Hopper" not in block  # nothing personal in clear
        # bob asks for read with his reader key; alice grants; bob syncs *from the relay*
        db_b = await open_on(b, db_a)
        await db_a.grant("read", b.identity.id, reader_key=await db_b.reader_key())
        await sync(db_a, relay)
        await sync(relay, db_b)
        assert await rows(db_b) == list(ROWS.values())
        assert await db_b.get("p2") == ROWS["p2"]
        with pytest.raises(NotAuthorizedToRead):
            await relay.get("p2")  # still nothing for the relay


async def test_revoked_reader_cannot_read_records_written_after_the_revoke() -> None:
    async with peers("alice", "bob", "carol") as (a, b, c):
        db_a = await create_encrypted(a)
        await db_a.put("p1", ROWS["p1"])
        db_b = await add_reader(db_a, b)
        db_c = await add_reader(db_a, c)
        await db_a.revoke("read", b.identity.id)
        (revoke,) = [e for e in await db_a.log.heads()]
        keys = decode(revoke.bytes)["payload"]["value"]["keys"]
        assert sorted(k["to"] for k in keys) == sorted([a.identity.id, c.identity.id])  # never bob
        await db_a.put("p2", ROWS["p2"])
        await sync(db_a, db_b)
        await sync(db_a, db_c)
        assert await db_b.get("p1") == ROWS["p1"]  # what bob could read before stays readable to him
        with pytest.raises(NotAuthorizedToRead, match="no key for epoch"):
            await db_b.get("p2")
        assert await db_c.get("p2") == ROWS["p2"]
        assert (await db_a.acl()).read == frozenset({a.identity.id, c.identity.id})


async def test_concurrent_revokes_on_forks_need_every_epoch_key() -> None:
    """Two admins revoke two readers concurrently: records after the merge are sealed under both new epochs."""
    async with peers("alice", "zed", "bob", "carol", "dave") as (a, z, b, c, d):
        db_a = await create_encrypted(a, admin=[a.identity.id, z.identity.id])
        await db_a.put("p1", ROWS["p1"])
        db_z = await add_reader(db_a, z)
        db_b = await add_reader(db_a, b)
        db_c = await add_reader(db_a, c)
        db_d = await add_reader(db_a, d)
        await sync(db_a, db_z)
        await db_a.revoke("read", b.identity.id)  # fork 1
        await db_z.revoke("read", c.identity.id)  # fork 2, concurrently
        await sync(db_z, db_a)
        await db_a.put("p2", ROWS["p2"])
        block = await a.blocks.get(db_a._index.lookup("p2") or "")
        assert block is not None and len(SealedRecord.decode(block).epochs) == 2
        for db in (db_b, db_c, db_d):
            await sync(db_a, db)
        assert await db_d.get("p2") == ROWS["p2"]
        for revoked in (db_b, db_c):
            with pytest.raises(NotAuthorizedToRead):
                await revoked.get("p2")


async def test_tampered_ciphertext_and_moved_blocks_are_rejected() -> None:
    async with peers("alice") as (a,):
        db = await create_encrypted(a)
        await db.put("p1", ROWS["p1"])
        await db.put("p2", ROWS["p2"])
        key1, key2 = db._index.lookup("p1"), db._index.lookup("p2")
        assert key1 is not None and key2 is not None
        good = await a.blocks.get(key1)
        assert good is not None
        bad = bytearray(good)
        bad[-1] ^= 1  # the GCM tag
        await a.blocks.put(key1, bytes(bad))
        with pytest.raises(EncryptionError, match="altered"):
            await db.get("p1")
        # p1's sealed block stored where p2's should be: the id in the associated data does not match
        sealed = decode(good)
        sealed["id"] = "p2"
        from orbitstore.codec import encode

        await a.blocks.put(key2, encode(sealed))
        with pytest.raises(EncryptionError, match="associated data"):
            await db.get("p2")


async def test_schema_is_checked_at_the_writer_and_at_each_reader() -> None:
    async with peers("alice", "bob") as (a, b):
        db_a = await create_encrypted(a)
        with pytest.raises(SchemaError, match="'age'"):
            await db_a.put("bad", {"age": "old"})
        await db_a.put("p1", ROWS["p1"])
        db_b = await add_reader(db_a, b)
        # alice (holding the key) bypasses her own checks: a sealed row that breaks the schema
        epochs = db_a._read.epochs_of(db_a._index.acl.past_of(h.hash for h in await db_a.heads()))  # type: ignore[union-attr]
        key, link, block = seal_row(
            db_a._read.sealer(epochs),  # type: ignore[union-attr]
            address=str(db_a.address),
            record_id="evil",
            epochs=epochs,
            wire_row={"age": "not a number", "bmi": None, "name": None, "sick": None},
        )
        await a.blocks.put(key, block)
        h = await _forge(db_a, put_payload("evil", link))
        await sync(db_a, db_b, heads=[h])  # peers cannot see inside: the entry is accepted
        with pytest.raises(SchemaError, match="breaks the schema"):
            await db_b.get("evil")


async def test_peers_reject_plaintext_records_wrong_epochs_and_bad_grants() -> None:
    async with peers("alice", "relay") as (a, r):
        db_a = await create_encrypted(a)
        await db_a.put("p1", ROWS["p1"])
        relay = await open_on(r, db_a)
        await sync(db_a, relay)
        plain = encode_record("p9", {"age": 1, "bmi": None, "name": None, "sick": None})
        await a.blocks.put(plain.key, plain.bytes)
        h = await _forge(db_a, put_payload("p9", plain.link))
        with pytest.raises(DatabaseError, match="not a sealed record block"):
            await sync(db_a, relay, heads=[h])
        with pytest.raises(DatabaseError, match="cannot grant read to"):
            await db_a.grant("read", "*")
        me = await db_a.reader_key()
        h = await _forge(db_a, grant_payload("read", "someone", reader=me.cid, envelopes=[]))
        with pytest.raises(DatabaseError, match="lacks the key of current epoch"):
            await sync(db_a, relay, heads=[h])
        h = await _forge(db_a, revoke_payload("read", a.identity.id, []))
        with pytest.raises(DatabaseError, match="new epoch's key"):
            await sync(db_a, relay, heads=[h])
        assert await relay.count() == 1


async def test_writers_need_read_and_read_grants_need_a_reader_key() -> None:
    async with peers("alice", "bob") as (a, b):
        db_a = await create_encrypted(a, write=[b.identity.id])
        await db_a.put("p1", ROWS["p1"])
        db_b = await open_on(b, db_a)
        await sync(db_a, db_b)
        with pytest.raises(NotAuthorizedToRead):
            await db_b.put("p2", ROWS["p2"])  # may write, holds no key
        with pytest.raises(DatabaseError, match="reader_key="):
            await db_a.grant("read", b.identity.id)
        with pytest.raises(NotFound, match="not in this store"):
            await db_a.grant("read", b.identity.id, reader_key="zdpuAn26ookFToGNmpVHgEM71YMULiyS8mAs9UQtV1g6eEyRP")
        with pytest.raises(DatabaseError, match="belongs to"):
            await db_a.grant("read", "someone-else", reader_key=await db_b.reader_key())
        await db_a.grant("read", b.identity.id, reader_key=await db_b.reader_key())
        await sync(db_a, db_b)
        await db_b.put("p2", ROWS["p2"])
        await sync(db_b, db_a)
        assert await rows(db_a) == list(ROWS.values())
        with pytest.raises(AccessDenied):
            await db_b.grant("read", b.identity.id)  # only admins grant


async def test_keys_survive_a_restart(tmp_path: Path) -> None:
    async with orbitstore.open(tmp_path / "a", identity="alice") as a:
        db = await create_encrypted(a)
        await db.put_many([{"age": i, "name": f"n{i}"} for i in range(5)], id_column="age")
        address = str(db.address)
    async with orbitstore.open(tmp_path / "a", identity="alice") as a:
        db = await a.open(address)
        assert [r["age"] async for r in db.rows()] == list(range(5))


async def test_snapshot_of_an_encrypted_dataset_has_no_table_and_decrypts_for_readers() -> None:
    async with peers("alice", "bob", "relay") as (a, b, r):
        db_a = await create_encrypted(a)
        await db_a.put_many(list(ROWS.values()), id_column="name")
        db_b = await add_reader(db_a, b)
        relay = await open_on(r, db_a)
        await sync(db_a, relay)
        snap = await db_a.snapshot()
        assert snap.table is None and snap.records == 2
        assert (await db_b.snapshot()).cid == (await relay.snapshot()).cid == snap.cid
        assert [row["name"] async for row in (await b.open_snapshot(snap.cid)).rows()] == [
            "Ada Lovelace",
            "Grace Hopper",
        ]
        await snap.verify()
        with pytest.raises(NotAuthorizedToRead):
            await (await r.open_snapshot(snap.cid)).columns()


async def test_plaintext_datasets_refuse_key_envelopes() -> None:
    async with peers("alice", "bob") as (a, b):
        db_a: Dataset = await a.open("plain", type="dataset")
        await db_a.set_schema({"x": "int"})
        db_b = await open_on(b, db_a)
        await sync(db_a, db_b)
        assert not db_a.encrypted
        with pytest.raises(DatabaseError, match="reader_key is for"):
            await db_a.grant("read", b.identity.id, reader_key=await db_b.reader_key())
        me = await db_a.reader_key()
        h = await _forge(db_a, grant_payload("read", b.identity.id, reader=me.cid, envelopes=[]))
        with pytest.raises(DatabaseError, match="not encrypted"):
            await sync(db_a, db_b, heads=[h])


async def test_an_admin_without_the_key_grants_by_starting_a_new_epoch() -> None:
    async with peers("alice", "zed", "bob") as (a, z, b):
        db_a = await create_encrypted(a, admin=[a.identity.id, z.identity.id])
        await db_a.put("p1", ROWS["p1"])
        db_z = await open_on(z, db_a)
        await sync(db_a, db_z)
        db_b = await open_on(b, db_a)
        await db_z.grant("read", b.identity.id, reader_key=await db_b.reader_key())  # zed holds no key
        grant = (await db_z.log.heads())[0]
        value = decode(grant.bytes)["payload"]["value"]
        assert value["rekey"] is True
        assert sorted(k["to"] for k in value["keys"]) == sorted([a.identity.id, b.identity.id])
        await sync(db_z, db_a)
        await db_a.put("p2", ROWS["p2"])  # sealed under zed's new epoch: alice got its key too
        await sync(db_a, db_b)
        assert await db_b.get("p2") == ROWS["p2"]
        with pytest.raises(NotAuthorizedToRead):
            await db_b.get("p1")  # written before: zed could not pass on a key it never had
        await sync(db_a, db_z)
        with pytest.raises(NotAuthorizedToRead):
            await db_z.get("p2")  # an admin is not a reader unless granted read


async def test_the_manifest_flag_is_absent_for_plaintext_datasets() -> None:
    from orbitstore.access.dataset import DatasetAccessController

    plain = DatasetAccessController.manifest_block(admin=["a"], write=[])
    assert decode(plain) == {"v": 1, "type": "dataset", "admin": ["a"], "write": []}  # CIDs unchanged
    assert decode(DatasetAccessController.manifest_block(admin=["a"], write=[], encrypted=True))["encrypted"] is True
    async with peers("alice") as (a,):
        with pytest.raises(DatabaseError, match="'encrypted' must be"):
            await a.open("x", type="dataset", access_controller={"type": "dataset", "encrypted": "yes"})
