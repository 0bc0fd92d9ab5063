"""(b) orbitstore writes, JS OrbitDB 3.0.2 reads: JS verifies every entry and returns the same values."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from orbitstore.codec import block_cid, decode, encode
from orbitstore.errors import AccessDenied, SignatureError
from orbitstore.identities import public_key_hex, sign
from tests.interop.harness import (
    FIXTURE_KEYS,
    DatabaseFile,
    LogWriter,
    b64decode,
    decode_blocks,
    describe_mismatch,
    fixture_identity,
    ipfs_access_controller,
    load_dag_json,
    load_log,
    manifest,
    run_node,
    run_node_sync,
    run_rounds,
    write_blocks_file,
)

pytestmark = pytest.mark.node

TYPES = ["events", "keyvalue", "documents"]

# Values only a Python writer produces: integral floats (written as integers, as JS would),
# integers JS can only hold as BigInt, float64 edge cases, tuples, bytearrays, unsorted keys.
PY_VALUES: list[Any] = [
    0,
    23,
    24,
    255,
    256,
    65536,
    2**32,
    2**53 - 1,
    2**53,
    2**64 - 1,
    -(2**63),
    -(2**64),
    3.0,
    -0.0,
    0.5,
    1 / 3,
    1e-310,
    1.7976931348623157e308,
    float(2**53),
    -(2.0**60),
    "",
    "ünïcødé ✓ 𝄞",
    "nul\x00inside",
    True,
    False,
    None,
    b"",
    bytes(range(256)),
    bytearray(b"ba"),
    [],
    {},
    (1, 2.5, "tuple"),
    [[[[]]]],
    {"zz": 1, "a": 2, "é": {"y": [None, {"x": b"\x01"}]}, "": 0, "10": "ten", "9": "nine"},
]
HALF = len(PY_VALUES) // 2

SCENARIOS: dict[str, list[dict[str, list[Any]]]] = {
    "events": [
        {"A": [["add", v] for v in PY_VALUES[:HALF]], "B": [["add", "B, concurrently"]]},
        {"A": [], "B": [["add", v] for v in PY_VALUES[HALF:]]},
        {"A": [["add", {"after": "merge"}]], "B": []},
        {"A": [["add", "tie A"]], "B": [["add", "tie B"]]},
    ],
    "keyvalue": [
        {
            "A": [["put", f"k{i}", v] for i, v in enumerate(PY_VALUES)] + [["put", "x", "A1"]],
            "B": [["put", "x", "B1"], ["del", "not-there"], ["put", "y", {"by": "B"}]],
        },
        {"A": [["del", "k0"], ["put", "x", "A2"]], "B": [["put", "x", "B2"], ["del", "y"], ["del", "k1"]]},
        {"A": [["put", "k0", "again"]], "B": []},
        {"A": [["put", "last", 1]], "B": [["put", "last", 2.25], ["put", "only-B", b"\xff"]]},
    ],
    "documents": [
        {
            "A": [["put", {"_id": f"d{i}", "v": v, "i": i}] for i, v in enumerate(PY_VALUES[:HALF])],
            "B": [["put", {"_id": "shared", "by": "B", "rev": 1}]],
        },
        {
            "A": [["put", {"_id": "shared", "by": "A", "rev": 2}], ["del", "d0"]],
            "B": [["put", {"_id": f"e{i}", "v": v, "deep": {"v": [v]}}] for i, v in enumerate(PY_VALUES[HALF:])],
        },
        {"A": [["del", "e1"]], "B": [["put", {"_id": "shared", "by": "B", "rev": 3}], ["del", "d1"]]},
    ],
}


async def _write_database(type: str, writers: list[str]) -> tuple[DatabaseFile, dict[str, bytes], dict[str, Any]]:
    """userA and userB write ``SCENARIOS[type]``; return the file entry, its blocks and what they see."""
    write = [FIXTURE_KEYS[u][1] for u in writers]
    ac_address, ac_block = ipfs_access_controller(write)
    address, manifest_block = manifest(f"orbitstore-{type}", type, ac_address)
    a = await LogWriter.open("userA", type, address, write)
    b = await LogWriter.open("userB", type, address, write)
    try:
        await run_rounds(a, b, SCENARIOS[type])
        entries = await a.entries()
        assert [e.hash for e in entries] == [e.hash for e in await b.entries()]
        blocks = {**await a.blocks(), **await b.blocks()}
        blocks[block_cid(ac_block)] = ac_block
        blocks[block_cid(manifest_block)] = manifest_block
        heads = await a.heads()
        expected: dict[str, Any] = {
            "address": address,
            "hashes": [e.hash for e in entries],
            "payloads": encode([e.payload for e in entries]),
            "heads": heads,
            "all": await a.all(),
        }
        return DatabaseFile(f"orbitstore-{type}", type, address, heads), blocks, expected
    finally:
        await a.aclose()
        await b.aclose()


async def _write_all(path: Path) -> dict[str, dict[str, Any]]:
    files: list[DatabaseFile] = []
    blocks: dict[str, bytes] = {}
    expected: dict[str, dict[str, Any]] = {}
    for type in TYPES:
        entry, db_blocks, seen = await _write_database(type, ["userA", "userB"])
        files.append(entry)
        blocks.update(db_blocks)
        expected[type] = seen
    write_blocks_file(path, blocks, files)
    return expected


@pytest.fixture(scope="module")
def js_read(node: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    """orbitstore writes the three databases to a file; ``read.mjs`` opens them. (expected, JS's report)"""
    tmp = tmp_path_factory.mktemp("orbitstore-to-js")
    expected = asyncio.run(_write_all(tmp / "blocks.json"))
    run_node_sync(node, "read.mjs", str(tmp / "blocks.json"), str(tmp / "read.json"))
    return expected, load_dag_json(tmp / "read.json")


def test_js_reencodes_every_orbitstore_block_byte_for_byte(js_read: tuple[dict[str, Any], Any]) -> None:
    _, report = js_read
    assert report["blocks"] > 100
    assert report["canonicalMismatches"] == []


@pytest.mark.parametrize("type", TYPES)
def test_js_verifies_every_orbitstore_entry_and_returns_identical_values(
    js_read: tuple[dict[str, Any], Any], type: str
) -> None:
    expected, report = js_read
    ours = expected[type]
    (db,) = [d for d in report["databases"] if d["address"] == ours["address"]]
    assert db.get("error") is None, f"JS could not open/join the {type} database: {db.get('error')}"
    assert db["verified"] is True, f"JS verification failures: {db['failures']}"
    assert db["entries"] == len(ours["hashes"]) == db["checkedOnJoin"]
    assert db["failures"] == []
    assert [e["hash"] for e in db["log"]] == ours["hashes"]
    js_payloads = b64decode(db["logPayloadsCbor"])
    assert js_payloads == ours["payloads"], describe_mismatch(decode(ours["payloads"]), decode(js_payloads))
    assert db["heads"] == ours["heads"]
    js_all = b64decode(db["allCbor"])
    assert js_all == encode(ours["all"]), describe_mismatch(ours["all"], decode(js_all))


# -- JS really verifies: entries it must refuse, and the check JS forgets --------------------------


async def _forged_file(path: Path) -> dict[str, str]:
    """Three one-writer keyvalue databases whose head is bad in a different way each."""
    files: list[DatabaseFile] = []
    blocks: dict[str, bytes] = {}
    write = [FIXTURE_KEYS["userA"][1]]
    ac_address, ac_block = ipfs_access_controller(write)
    blocks[block_cid(ac_block)] = ac_block
    names: dict[str, str] = {}
    for case in ("unauthorized", "bad-signature", "key-not-identity"):
        address, manifest_block = manifest(f"forged-{case}", "keyvalue", ac_address)
        blocks[block_cid(manifest_block)] = manifest_block
        names[case] = address
        writer = await LogWriter.open("userA", "keyvalue", address, write)
        try:
            await writer.put("ok", 1)
            good = await writer.put("ok", 2)
            blocks.update(await writer.blocks())
            if case == "unauthorized":
                # userC signs a head with its own key and identity, but is not in the write list.
                _, intruder = await fixture_identity("userC")
                entry = _sign_entry(good.bytes, FIXTURE_KEYS["userC"][2], intruder.hash)
                blocks[intruder.hash] = intruder.bytes
            elif case == "bad-signature":
                value = decode(good.bytes)
                value["payload"] = {"op": "PUT", "key": "ok", "value": 3}  # signature no longer covers it
                entry = encode(value)
            else:
                # Signed by userC's key but naming userA's identity: JS checks the signature against
                # entry.key and the identity against the write list, but never that they belong together.
                entry = _sign_entry(good.bytes, FIXTURE_KEYS["userC"][2], good.identity)
            blocks[block_cid(entry)] = entry
            files.append(DatabaseFile(f"forged-{case}", "keyvalue", address, [block_cid(entry)]))
        finally:
            await writer.aclose()
    write_blocks_file(path, blocks, files)
    return names


def _sign_entry(template: bytes, private_key: str, identity: str) -> bytes:
    """A new head on ``template``, signed with ``private_key`` (also its key and clock id), naming ``identity``."""
    old = decode(template)
    public = public_key_hex(bytes.fromhex(private_key))
    unsigned = {
        "v": 2,
        "id": old["id"],
        "next": [block_cid(template)],
        "refs": [],
        "clock": {"id": public, "time": old["clock"]["time"] + 1},
        "payload": {"op": "PUT", "key": "ok", "value": "forged"},
    }
    signed = {
        **unsigned,
        "key": public,
        "identity": identity,
        "sig": sign(bytes.fromhex(private_key), encode(unsigned)),
    }
    return encode(signed)


async def test_bad_heads_are_refused_by_both_except_the_key_binding_js_forgets(node: str, tmp_path: Path) -> None:
    names = await _forged_file(tmp_path / "forged.json")
    await run_node(node, "read.mjs", str(tmp_path / "forged.json"), str(tmp_path / "read.json"))
    report = {d["address"]: d for d in load_dag_json(tmp_path / "read.json")["databases"]}

    unauthorized = report[names["unauthorized"]]
    assert unauthorized["verified"] is False
    assert "is not allowed to write" in unauthorized["error"]

    bad_signature = report[names["bad-signature"]]
    assert bad_signature["verified"] is False
    assert "Could not validate signature" in bad_signature["error"]

    # The gap in JS (spec §2): its join accepts the entry, only read.mjs's extra check flags it.
    foreign_key = report[names["key-not-identity"]]
    assert foreign_key.get("error") is None
    assert foreign_key["verified"] is False
    assert [(f["signature"], f["access"], f["keyBound"]) for f in foreign_key["failures"]] == [(True, True, False)]

    # orbitstore refuses all three.
    doc = json.loads((tmp_path / "forged.json").read_text("utf-8"))
    blocks = decode_blocks(doc["blocks"])
    errors = {"unauthorized": AccessDenied, "bad-signature": SignatureError, "key-not-identity": SignatureError}
    for case, error in errors.items():
        (db,) = [d for d in doc["databases"] if d["address"] == names[case]]
        with pytest.raises(error):
            await load_log(db["address"], db["heads"], blocks)
