"""OrbitDB's ``encryption`` option against the real JS OrbitDB 3.0.2 and ``@orbitdb/simple-encryption`` 0.0.2.

(a) ``write-encrypted.mjs``: JS writes events/keyvalue with the data and/or replication layer on;
orbitstore opens them by address with :class:`SimpleEncryption` of the same passwords, decrypts,
verifies every entry and gets the same hashes, order, heads and ``all()``.
(b) two orbitstore nodes write with our encrypter (fresh iv per message); ``read-encrypted.mjs``
decrypts, verifies and reads identical values in JS.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import orbitstore
from orbitstore.codec import block_cid, decode, encode
from orbitstore.encryption import SimpleEncryption
from orbitstore.encryption.simple import IV_LENGTH, SALT_LENGTH
from orbitstore.errors import ConfigError, DecodeError, EncryptionError
from orbitstore.log import Entry
from orbitstore.store import OrbitStore
from tests.interop.harness import (
    DatabaseNode,
    b64decode,
    decode_blocks,
    describe_mismatch,
    fixture_identity,
    load_dag_json,
    run_node_sync,
)
from tests.interop.test_orbitstore_to_js import SCENARIOS

pytestmark = pytest.mark.node

ENCRYPTED = ["enc-events", "enc-keyvalue", "enc-keyvalue-data", "enc-events-replication"]
HEADER = SALT_LENGTH + IV_LENGTH


def _layers(passwords: dict[str, str | None]) -> dict[str, SimpleEncryption]:
    return {layer: SimpleEncryption(password=pw) for layer, pw in passwords.items() if pw is not None}


def _js_view(type: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """orbitstore's ``all()`` in the shape JS returns (events: ``{hash, value}``)."""
    return [{"hash": r["hash"], "value": r["value"]} for r in rows] if type == "events" else rows


@pytest.fixture(scope="module")
def js_encrypted(node: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What ``write-encrypted.mjs`` exported (once per module)."""
    out: Path = tmp_path_factory.mktemp("interop-enc") / "js-encrypted.json"
    run_node_sync(node, "write-encrypted.mjs", str(out), timeout=180)
    doc: dict[str, Any] = load_dag_json(out)
    return doc


def _database(doc: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [d for d in doc["databases"] if d["name"] == name]
    return found


async def _reader_store(blocks: dict[str, bytes]) -> OrbitStore:
    identities, identity = await fixture_identity("userC")
    store = await orbitstore.open(identities=identities, identity=identity)
    identities.storage = store.blocks
    for cid, block in blocks.items():
        await store.blocks.put(cid, block)
    return store


# -- (a) JS writes, orbitstore reads --------------------------------------------------------------


def test_js_blocks_have_the_spec_layout(js_encrypted: dict[str, Any]) -> None:
    """Wrappers are DAG-CBOR byte strings; data-encrypted payloads are salt | iv | ciphertext | tag."""
    blocks = decode_blocks(js_encrypted["blocks"])
    assert all(block_cid(b) == cid for cid, b in blocks.items())
    for name in ENCRYPTED:
        db = _database(js_encrypted, name)
        for item in db["log"]:
            value = decode(blocks[item["hash"]])
            if db["encryption"]["replication"] is not None:
                assert type(value) is bytes  # the wrapper: one byte string, whose CID is the hash
            else:
                assert isinstance(value, dict) and type(value["payload"]) is bytes
                plain = encode(item["payload"])
                assert len(value["payload"]) == HEADER + len(plain) + 16


def test_js_simple_encryption_reuses_its_iv(js_encrypted: dict[str, Any]) -> None:
    """The hazard we do not copy: one JS encrypter reuses a single salt and iv for every entry."""
    blocks = decode_blocks(js_encrypted["blocks"])
    db = _database(js_encrypted, "enc-keyvalue-data")
    headers = Counter(decode(blocks[item["hash"]])["payload"][:HEADER] for item in db["log"])
    assert len(headers) == 2  # one (salt, iv) per writer, for every one of its 25 entries
    assert sum(headers.values()) == len(db["log"])


@pytest.mark.parametrize("name", ENCRYPTED)
async def test_orbitstore_opens_js_encrypted_database(js_encrypted: dict[str, Any], name: str) -> None:
    db_js = _database(js_encrypted, name)
    store = await _reader_store(decode_blocks(js_encrypted["blocks"]))
    try:
        db = await store.open(db_js["address"], encryption=_layers(db_js["encryption"]))
        assert db.type == db_js["type"]
        for head in db_js["heads"]:
            block = await store.blocks.get(head)
            assert block is not None
            entry = await db.log.decode_entry(block, expected_hash=head)
            await db.join_entry(entry)
        entries = await db.log.values()
        assert [e.hash for e in entries] == [x["hash"] for x in db_js["log"]]
        assert [h.hash for h in await db.heads()] == db_js["heads"]
        payloads = encode([e.payload for e in entries])
        assert payloads == b64decode(db_js["logPayloadsCbor"]), describe_mismatch(
            [e.payload for e in entries], decode(b64decode(db_js["logPayloadsCbor"]))
        )
        mine = _js_view(db.type, await db.all())
        assert encode(mine) == b64decode(db_js["allCbor"]), describe_mismatch(mine, db_js["all"])
        for e in entries:
            await e.verify(store.identities)  # signatures cover the ciphertext payload
            if db_js["encryption"]["data"] is not None:
                assert e.encrypted_payload is not None
    finally:
        await store.aclose()


async def test_wrong_password_is_an_encryption_error(js_encrypted: dict[str, Any]) -> None:
    blocks = decode_blocks(js_encrypted["blocks"])
    for name in ("enc-keyvalue", "enc-keyvalue-data", "enc-events-replication"):
        db_js = _database(js_encrypted, name)
        store = await _reader_store(blocks)
        try:
            wrong = {k: (v + "!" if v is not None else None) for k, v in db_js["encryption"].items()}
            db = await store.open(db_js["address"], encryption=_layers(wrong))
            with pytest.raises(EncryptionError):
                await db.log.decode_entry(blocks[db_js["heads"][0]], expected_hash=db_js["heads"][0])
        finally:
            await store.aclose()


async def test_relay_without_the_data_key_stores_and_verifies(js_encrypted: dict[str, Any]) -> None:
    """With only the data layer on, a peer without the password still joins and verifies every entry."""
    db_js = _database(js_encrypted, "enc-keyvalue-data")
    store = await _reader_store(decode_blocks(js_encrypted["blocks"]))
    try:
        db = await store.open(db_js["address"])
        for head in db_js["heads"]:
            block = await store.blocks.get(head)
            assert block is not None
            await db.join_entry(Entry.decode(block, expected_hash=head))
        entries = await db.log.values()
        assert [e.hash for e in entries] == [x["hash"] for x in db_js["log"]]
        assert all(type(e.payload) is bytes for e in entries)  # ciphertext: readable only with the key
    finally:
        await store.aclose()


async def test_without_the_replication_key_entries_do_not_even_decode(js_encrypted: dict[str, Any]) -> None:
    db_js = _database(js_encrypted, "enc-events-replication")
    blocks = decode_blocks(js_encrypted["blocks"])
    with pytest.raises(DecodeError, match="must be a map"):
        Entry.decode(blocks[db_js["heads"][0]])


async def test_js_documents_ignore_encryption_and_orbitstore_refuses_it(js_encrypted: dict[str, Any]) -> None:
    """OrbitDB 3.0.2's documents type drops the option (it passes ``encrypt``): its entries are plaintext."""
    db_js = _database(js_encrypted, "enc-documents")
    blocks = decode_blocks(js_encrypted["blocks"])
    for item in db_js["log"]:
        assert decode(blocks[item["hash"]])["payload"] == item["payload"]
    store = await _reader_store(blocks)
    try:
        with pytest.raises(ConfigError, match="ignores encryption for documents"):
            await store.open(db_js["address"], encryption=_layers(db_js["encryption"]))
    finally:
        await store.aclose()


# -- (b) orbitstore writes, JS reads ---------------------------------------------------------------

PY_DATABASES: list[tuple[str, str, dict[str, str | None]]] = [
    ("py-enc-events", "events", {"data": "py data", "replication": "py replication"}),
    ("py-enc-keyvalue", "keyvalue", {"data": "py data", "replication": "py replication"}),
    ("py-enc-keyvalue-data", "keyvalue", {"data": "only data", "replication": None}),
    ("py-enc-events-replication", "events", {"data": None, "replication": "only replication"}),
]


async def _write_encrypted(path: Path) -> dict[str, dict[str, Any]]:
    blocks: dict[str, bytes] = {}
    files: list[dict[str, Any]] = []
    expected: dict[str, dict[str, Any]] = {}
    for name, type, passwords in PY_DATABASES:
        a = await DatabaseNode.open("userA", name, type, encryption=_layers(passwords))
        b = await DatabaseNode.open("userB", name, type, encryption=_layers(passwords))
        try:
            for round_ in SCENARIOS[type]:
                for op in round_.get("A", ()):
                    await a.apply(op)
                for op in round_.get("B", ()):
                    await b.apply(op)
                await a.join(b)
                await b.join(a)
            assert await a.db.all() == await b.db.all()
            for node in (a, b):
                async for cid, block in node.store.blocks.items():
                    blocks[cid] = block
            entries = await a.db.log.values()
            ivs = [e.encrypted_payload[:HEADER] for e in entries if e.encrypted_payload is not None]
            assert len(set(ivs)) == len(ivs)  # ours: a fresh iv for every entry
            heads = [h.hash for h in await a.db.heads()]
            expected[name] = {
                "address": str(a.db.address),
                "hashes": [e.hash for e in entries],
                "heads": heads,
                "all": _js_view(type, await a.db.all()),
                "payloads": [e.payload for e in entries],
            }
            files.append(
                {"name": name, "type": type, "address": str(a.db.address), "heads": heads, "encryption": passwords}
            )
        finally:
            await a.aclose()
            await b.aclose()
    encoded = {cid: base64.b64encode(b).decode("ascii") for cid, b in sorted(blocks.items())}
    await asyncio.to_thread(path.write_text, json.dumps({"blocks": encoded, "databases": files}), "utf-8")
    return expected


@pytest.fixture(scope="module")
def js_read_encrypted(node: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("encrypted-to-js")
    expected = asyncio.run(_write_encrypted(tmp / "blocks.json"))
    run_node_sync(node, "read-encrypted.mjs", str(tmp / "blocks.json"), str(tmp / "read.json"), timeout=180)
    return expected, load_dag_json(tmp / "read.json")


def test_js_reencodes_every_orbitstore_block(js_read_encrypted: tuple[dict[str, Any], Any]) -> None:
    _, report = js_read_encrypted
    assert report["canonicalMismatches"] == []


@pytest.mark.parametrize("name", [d[0] for d in PY_DATABASES])
def test_js_decrypts_and_verifies_orbitstore_encrypted_database(
    js_read_encrypted: tuple[dict[str, Any], Any], name: str
) -> None:
    expected, report = js_read_encrypted
    ours = expected[name]
    (db,) = [d for d in report["databases"] if d["address"] == ours["address"]]
    assert db.get("error") is None, db.get("error")
    assert db["verified"] is True, db["failures"]
    assert db["wrongPasswordRejected"] is True
    assert [e["hash"] for e in db["log"]] == ours["hashes"]
    assert db["heads"] == ours["heads"]
    assert b64decode(db["logPayloadsCbor"]) == encode(ours["payloads"])
    js_all = b64decode(db["allCbor"])
    assert js_all == encode(ours["all"]), describe_mismatch(ours["all"], decode(js_all))
