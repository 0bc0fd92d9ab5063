"""(a) JS OrbitDB 3.0.2 writes, orbitstore reads: same bytes, same order, same ``all()``."""

from __future__ import annotations

from typing import Any

import pytest

from orbitstore.codec import block_cid, decode, encode
from orbitstore.identities import Identities, Identity
from tests.interop.harness import (
    FIXTURE_IDENTITY_HASHES,
    FIXTURE_KEYS,
    LogWriter,
    b64decode,
    decode_blocks,
    describe_mismatch,
    ipfs_access_controller,
    load_log,
    manifest,
    run_rounds,
    view,
)

pytestmark = pytest.mark.node

TYPES = ["events", "keyvalue", "documents"]


def database(js_written: dict[str, Any], type: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [d for d in js_written["databases"] if d["type"] == type]
    assert len(found) == 1
    return found[0]


def test_every_js_block_hashes_to_its_cid_and_reencodes_byte_for_byte(js_written: dict[str, Any]) -> None:
    blocks = decode_blocks(js_written["blocks"])
    assert len(blocks) > 100
    wrong_cid = {cid: block_cid(b) for cid, b in blocks.items() if block_cid(b) != cid}
    assert wrong_cid == {}
    reencoded = {cid: encode(decode(b)) for cid, b in blocks.items()}
    mismatches = {cid: (b.hex(), reencoded[cid].hex()) for cid, b in blocks.items() if reencoded[cid] != b}
    assert mismatches == {}, f"blocks orbitstore re-encodes differently (cid: JS hex, ours hex): {mismatches}"


async def test_js_identities_are_the_fixture_identities_and_verify(js_written: dict[str, Any]) -> None:
    blocks = decode_blocks(js_written["blocks"])
    identities = await Identities.open()
    for user in ("userA", "userB"):
        got = js_written["identities"][user]
        assert got["hash"] == FIXTURE_IDENTITY_HASHES[user]
        assert got["id"] == FIXTURE_KEYS[user][1]
        identity = Identity.decode(blocks[got["hash"]], expected_hash=got["hash"])
        assert identity.public_key == got["publicKey"]
        assert await identities.verify_identity(identity)


@pytest.mark.parametrize("type", TYPES)
def test_orbitstore_builds_the_same_manifest_and_access_controller(js_written: dict[str, Any], type: str) -> None:
    db = database(js_written, type)
    blocks = decode_blocks(js_written["blocks"])
    ac_address, ac_block = ipfs_access_controller(db["write"])
    assert ac_address == db["accessController"]
    assert ac_block == blocks[ac_address.removeprefix("/ipfs/")]
    address, manifest_block = manifest(db["name"], type, ac_address)
    assert address == db["address"]
    assert manifest_block == blocks[address.removeprefix("/orbitdb/")]


@pytest.mark.parametrize("type", TYPES)
async def test_orbitstore_opens_js_database_with_identical_order_and_values(
    js_written: dict[str, Any], type: str
) -> None:
    db = database(js_written, type)
    blocks = decode_blocks(js_written["blocks"])
    loaded = await load_log(db["address"], db["heads"], blocks)
    try:
        assert loaded.manifest.type == type
        assert loaded.manifest.write == [js_written["identities"][u]["id"] for u in ("userA", "userB")]
        entries = await loaded.log.values()
        # The log order: the same entries in exactly JS's order, with the same payloads.
        assert [e.hash for e in entries] == [e["hash"] for e in db["log"]]
        js_payloads = b64decode(db["logPayloadsCbor"])
        ours = encode([e.payload for e in entries])
        assert ours == js_payloads, describe_mismatch([e.payload for e in entries], decode(js_payloads))
        assert [e.hash for e in await loaded.log.heads()] == db["heads"]
        assert len(db["heads"]) == 2, "the scenario ends with two concurrent heads"
        # all(): computed from the payloads as OrbitDB defines it, compared as dag-cbor bytes
        # (so an int and a float, or True and 1, never compare equal by accident).
        ours_all = view(type, entries)
        js_all = b64decode(db["allCbor"])
        assert encode(ours_all) == js_all, describe_mismatch(ours_all, decode(js_all))
    finally:
        await loaded.log.aclose()


@pytest.mark.parametrize("type", TYPES)
async def test_orbitstore_replaying_the_js_operations_writes_identical_blocks(
    js_written: dict[str, Any], type: str
) -> None:
    """Same keys, same operations, same rounds of joins: every entry CID must equal JS's."""
    db = database(js_written, type)
    js_blocks = decode_blocks(js_written["blocks"])
    rounds = decode(b64decode(db["scenarioCbor"]))
    a = await LogWriter.open("userA", type, db["address"], db["write"])
    b = await LogWriter.open("userB", type, db["address"], db["write"])
    try:
        await run_rounds(a, b, rounds)
        for writer in (a, b):
            entries = await writer.entries()
            ours = [e.hash for e in entries]
            theirs = [e["hash"] for e in db["log"]]
            if ours != theirs:
                first = next(i for i, (x, y) in enumerate(zip(ours, theirs, strict=False)) if x != y)
                ours_entry = entries[first].to_dict()
                js_entry = decode(js_blocks[theirs[first]]) if theirs[first] in js_blocks else None
                pytest.fail(
                    f"{type}: entry {first} differs: orbitstore {ours[first]} vs JS {theirs[first]}\n"
                    f"  orbitstore: {ours_entry}\n  JS OrbitDB: {js_entry}"
                )
            assert await writer.heads() == db["heads"]
            for cid, block in (await writer.blocks()).items():
                assert block == js_blocks[cid], f"{type}: block {cid} differs from JS's"
    finally:
        await a.aclose()
        await b.aclose()


@pytest.mark.parametrize("type", TYPES)
async def test_orbitstore_database_opened_by_address_returns_js_all(js_written: dict[str, Any], type: str) -> None:
    """The user's path: put JS's blocks into a node's block store, open the address, join the heads."""
    import orbitstore
    from orbitstore.log import Entry

    db = database(js_written, type)
    blocks = decode_blocks(js_written["blocks"])
    async with orbitstore.open(identity="reader") as store:
        for cid, block in blocks.items():
            await store.blocks.put(cid, block)
        opened = await store.open(db["address"])
        assert opened.type == type
        for head in db["heads"]:
            await opened.join_entry(Entry.decode(blocks[head]))
        ours = await opened.all()
        if type == "events":
            ours = [{"hash": x["hash"], "value": x["value"]} for x in ours]
        js_all = decode(b64decode(db["allCbor"]))
        assert encode(ours) == encode(js_all), describe_mismatch(ours, js_all)
