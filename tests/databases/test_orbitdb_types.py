"""events, keyvalue and documents: OrbitDB's payloads and views, persistence, access control, bad input."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import orbitstore
from orbitstore.codec import decode
from orbitstore.databases import Address, Manifest
from orbitstore.errors import AccessDenied, DatabaseError, IdentityError, LogError, NotFound
from orbitstore.identities import Identities, MemoryKeyStore
from orbitstore.store import OrbitStore
from tests.conftest import VECTORS


async def copy_blocks(src: OrbitStore, dst: OrbitStore) -> None:
    async for key, value in src.blocks.items():
        await dst.blocks.put(key, value)


def test_manifest_vectors() -> None:
    m = Manifest("database", "keyvalue", "test/default-access-controller")
    assert m.hash == "zdpuAn26ookFToGNmpVHgEM71YMULiyS8mAs9UQtV1g6eEyRP"
    m2 = Manifest(
        "database",
        "keyvalue",
        "test/default-access-controller",
        {"name": "database", "description": "more information about the database"},
    )
    assert m2.hash == "zdpuAyWPs4yAXS6W7CY4UM68pV2NCpzAJr98aMA4zS5XRq5ga"
    for name in ("events", "keyvalue"):
        data = json.loads((VECTORS / f"{name}.json").read_text())
        assert str(Address.parse(data["address"])) == data["address"]


def test_addresses() -> None:
    a = "/orbitdb/zdpuAn26ookFToGNmpVHgEM71YMULiyS8mAs9UQtV1g6eEyRP"
    assert str(Address.parse(a)) == a
    assert str(Address.parse("\\orbitdb\\zdpuAn26ookFToGNmpVHgEM71YMULiyS8mAs9UQtV1g6eEyRP")) == a
    for bad in ("/orbitdb/", "/orbitdb/notacid", "/ipfs/QmFoo", "", "zdpuAn26ookF"):
        assert not Address.is_valid(bad)


async def test_events_like_orbitdb() -> None:
    async with orbitstore.open(identity="alice") as store:
        db = await store.open("ev", type="events")
        h1 = await db.add("one")
        await db.add({"two": [2]})
        entry = await db.log.get(h1)
        assert entry is not None and entry.payload == {"op": "ADD", "key": None, "value": "one"}
        assert entry.refs == ()
        assert [x["value"] for x in await db.all()] == ["one", {"two": [2]}]
        assert await db.get(h1) == "one"
        assert [x["value"] async for x in db.iterator(amount=1)] == [{"two": [2]}]
        with pytest.raises(NotFound):
            await db.get("zdpuAn26ookFToGNmpVHgEM71YMULiyS8mAs9UQtV1g6eEyRP")


async def test_keyvalue_semantics_match_vector() -> None:
    data = json.loads((VECTORS / "keyvalue.json").read_text())
    async with orbitstore.open(identity="alice") as store:
        db = await store.open("kv", type="keyvalue")
        for op in data["ops"]:
            if op[0] == "put":
                await db.put(op[1], op[2])
            else:
                await db.delete(op[1])
        assert [(x["key"], x["value"]) for x in await db.all()] == [(x["key"], x["value"]) for x in data["all"]]
        for key, want in data["get"].items():
            got = await db.get(key)
            assert got == (None if want == {"undefined": True} else want)


async def test_keyvalue_index_persists_and_rebuilds(tmp_path: Path) -> None:
    async with orbitstore.open(tmp_path, identity="alice") as store:
        db = await store.open("kv", type="keyvalue")
        for i in range(50):
            await db.put(f"k{i % 10}", i)
        await db.delete("k3")
        address = str(db.address)
    async with orbitstore.open(tmp_path, identity="alice") as store:
        db = await store.open(address)
        assert await db.get("k9") == 49 and await db.get("k3") is None
        assert len(await db.all()) == 9
        await db.index_storage.clear()  # lose the index: it must be rebuilt on open
    async with orbitstore.open(tmp_path, identity="alice") as store:
        db = await store.open(address)
        assert await db.get("k9") == 49 and await db.get("k3") is None


async def test_documents() -> None:
    async with orbitstore.open(identity="alice") as store:
        db = await store.open("docs", type="documents", index_by="id")
        await db.put({"id": "a", "n": 1})
        await db.put({"id": "b", "n": 2})
        await db.put({"id": "a", "n": 3})
        assert await db.query(lambda d: d["n"] > 1) == [{"id": "a", "n": 3}, {"id": "b", "n": 2}]
        got = await db.get("a")
        assert got is not None and got["value"] == {"id": "a", "n": 3}
        with pytest.raises(DatabaseError):
            await db.put({"name": "no id"})
        await db.delete("a")
        with pytest.raises(NotFound):
            await db.delete("a")
        assert [d["key"] for d in await db.all()] == ["b"]


async def test_updates_stream_and_callbacks() -> None:
    async with orbitstore.open(identity="alice") as store:
        db = await store.open("ev", type="events")
        seen = []
        db.on_update(lambda u: seen.append(u.kind))
        stream = db.updates()
        task = asyncio.create_task(anext(stream))
        await asyncio.sleep(0)
        await db.add(1)
        update = await task
        assert update.kind == "update" and update.entries[0].payload["value"] == 1
        assert seen == ["update"]
        await stream.aclose()


async def test_open_by_address_and_type_checks() -> None:
    async with orbitstore.open(identity="alice") as store:
        db = await store.open("kv", type="keyvalue", meta={"purpose": "test"})
        assert (await store.open(str(db.address))) is db
        assert db.meta == {"purpose": "test"}
        with pytest.raises(DatabaseError, match="not 'events'"):
            await store.open(str(db.address), type="events")
        with pytest.raises(DatabaseError, match="give type="):
            await store.open("no-type")
        with pytest.raises(DatabaseError, match="unknown database type"):
            await store.open("x", type="graph")
        with pytest.raises(DatabaseError, match="unknown access controller"):
            await store.open("x", type="events", access_controller={"type": "nope"})
        with pytest.raises(NotFound):
            await store.open("/orbitdb/zdpuAn26ookFToGNmpVHgEM71YMULiyS8mAs9UQtV1g6eEyRP")


async def test_manifest_of_unknown_type_or_controller() -> None:
    async with orbitstore.open(identity="alice") as store:
        for manifest, match in (
            (Manifest("x", "graph", "/ipfs/zdpuAn26ookFToGNmpVHgEM71YMULiyS8mAs9UQtV1g6eEyRP"), "unknown database"),
            (Manifest("x", "events", "/magic/zdpuAn26ookFToGNmpVHgEM71YMULiyS8mAs9UQtV1g6eEyRP"), "access controller"),
            (Manifest("x", "events", "/ipfs/zdpuAn26ookFToGNmpVHgEM71YMULiyS8mAs9UQtV1g6eEyRP"), "not found"),
        ):
            await store.blocks.put(manifest.hash, manifest.encode())
            with pytest.raises((DatabaseError, NotFound), match=match):
                await store.open(str(manifest.address))


async def two_stores() -> tuple[OrbitStore, OrbitStore]:
    alice = await orbitstore.open(identity="alice")
    bob = await orbitstore.open(identity="bob")
    return alice, bob


async def test_unauthorized_writer_is_rejected_on_join() -> None:
    alice, bob = await two_stores()
    try:
        db_a = await alice.open("ev", type="events")
        await db_a.add("from alice")
        await copy_blocks(alice, bob)
        db_b = await bob.open(str(db_a.address))
        with pytest.raises(AccessDenied):
            await db_b.add("bob may not")
        # bob forges an entry with his own log and the same id, then alice joins it
        forged = await db_b.log.__class__.open(bob.identity, identities=bob.identities, log_id=str(db_a.address))
        head = await forged.append({"op": "ADD", "key": None, "value": "sneaky"})
        before = [x["hash"] for x in await db_a.all()]
        with pytest.raises(AccessDenied):
            await db_a.join_entry(head, fetch=bob.blocks.get)
        assert [x["hash"] for x in await db_a.all()] == before
        assert await alice.blocks.get(head.hash) is None
        assert await alice.blocks.get(bob.identity.hash) is None  # nor the intruder's identity block
    finally:
        await alice.aclose()
        await bob.aclose()


async def test_writers_replicate_with_shared_write_list() -> None:
    alice, bob = await two_stores()
    try:
        db_a = await alice.open("ev", type="events", access_controller={"type": "ipfs", "write": ["*"]})
        await db_a.add("a1")
        await copy_blocks(alice, bob)
        db_b = await bob.open(str(db_a.address))
        for head in await db_a.heads():
            await db_b.join_entry(head, fetch=alice.blocks.get)
        await db_b.add("b1")
        for head in await db_b.heads():
            await db_a.join_entry(head, fetch=bob.blocks.get)
        assert [x["value"] for x in await db_a.all()] == [x["value"] for x in await db_b.all()] == ["a1", "b1"]
    finally:
        await alice.aclose()
        await bob.aclose()


async def test_entry_for_another_database_is_rejected() -> None:
    async with orbitstore.open(identity="alice") as store:
        one = await store.open("one", type="events")
        two = await store.open("two", type="events")
        await one.add("x")
        (head,) = await one.heads()
        with pytest.raises(LogError, match="belongs to log"):
            await two.join_entry(head)
        assert await two.all() == []


async def test_unknown_identity_is_rejected() -> None:
    alice, bob = await two_stores()
    try:
        db_a = await alice.open("ev", type="events", access_controller={"type": "ipfs", "write": ["*"]})
        await copy_blocks(alice, bob)
        db_b = await bob.open(str(db_a.address))
        await db_b.add("b")
        (head,) = await db_b.heads()

        async def entries_only(h: str) -> bytes | None:
            block = await bob.blocks.get(h)
            return block if block is not None and decode(block).get("sig") else None

        with pytest.raises(IdentityError):
            await db_a.join_entry(head, fetch=entries_only)
    finally:
        await alice.aclose()
        await bob.aclose()


async def test_orbitdb_access_controller_grant_and_revoke() -> None:
    alice, bob = await two_stores()
    try:
        db_a = await alice.open("guarded", type="events", access_controller={"type": "orbitdb"})
        await copy_blocks(alice, bob)
        db_b = await bob.open(str(db_a.address))
        assert await db_a.access.db.heads() == []  # no capabilities granted yet
        with pytest.raises(AccessDenied):
            await db_b.add("not yet")
        await db_a.access.grant("write", bob.identity.id)
        # bob learns about the grant
        for head in await db_a.access.db.heads():
            await db_b.access.db.join_entry(head, fetch=alice.blocks.get)
        assert bob.identity.id in await db_b.access.get("write")
        await db_b.add("now allowed")
        with pytest.raises(AccessDenied):
            await db_b.access.grant("write", "someone")  # bob is not an admin
        await db_a.access.revoke("write", bob.identity.id)
        for head in await db_a.access.db.heads():
            await db_b.access.db.join_entry(head, fetch=alice.blocks.get)
        with pytest.raises(AccessDenied):
            await db_b.add("revoked")
    finally:
        await alice.aclose()
        await bob.aclose()


async def test_shared_identities_service() -> None:
    ids = await Identities.open(keystore=MemoryKeyStore())
    async with orbitstore.open(identities=ids, identity="carol") as store:
        assert store.identity.hash == (await ids.create_identity("carol")).hash


async def test_closing_one_database_leaves_the_others_working(tmp_path: Path) -> None:
    async with orbitstore.open(tmp_path, identity="alice") as store:
        one = await store.open("one", type="events")
        two = await store.open("two", type="keyvalue")
        await one.add(1)
        await one.aclose()
        await two.put("still", "works")
        assert await two.get("still") == "works"
        again = await store.open(str(one.address))
        assert [x["value"] for x in await again.all()] == [1]
    async with orbitstore.open(tmp_path, identity="alice") as store:
        ds = await store.open("ds", type="dataset")  # datasets default to the dataset controller
        assert ds.manifest.access_controller.startswith("/dataset/")
