"""The bytes, hashes and orders produced by the real JS OrbitDB 3.0.2 and by its own tests."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from orbitstore.identities import Identities
from orbitstore.log import Clock, Entry, Log
from orbitstore.storage.memory import MemoryStorage
from tests.conftest import VECTORS
from tests.log.helpers import users

BLOCKS = {c: base64.b64decode(b) for c, b in json.loads((VECTORS / "blocks.json").read_text())["blocks"].items()}
KINDS = json.loads((VECTORS / "blocks.json").read_text())["kinds"]


def from_dag_json(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"/"} and isinstance(value["/"], dict) and "bytes" in value["/"]:
            b64 = value["/"]["bytes"]
            return base64.b64decode(b64 + "=" * (-len(b64) % 4))
        return {k: from_dag_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dag_json(v) for v in value]
    return value


async def vector_ids() -> Identities:
    data = json.loads((VECTORS / "identity.json").read_text())
    ids = await Identities.open()
    for user, keys in data["keys"].items():
        await ids.import_key(keys["idKey"]["keystoreName"], keys["idKey"]["privateKeyHex"])
        await ids.import_key(keys["signingKey"]["keystoreName"], keys["signingKey"]["privateKeyHex"])
        await ids.create_identity(user)
    return ids


@pytest.mark.parametrize("cid", sorted(c for c, k in KINDS.items() if k == "entry"))
async def test_every_vector_entry_decodes_reencodes_and_verifies(cid: str) -> None:
    ids = await vector_ids()
    entry = Entry.decode(BLOCKS[cid], expected_hash=cid)
    assert entry.hash == cid
    assert entry.encode() == BLOCKS[cid]
    identity = await entry.verify(ids)
    assert identity.hash == entry.identity


@pytest.mark.parametrize("name", ["events", "keyvalue"])
async def test_log_from_vector_heads_orders_like_js(name: str) -> None:
    data = json.loads((VECTORS / f"{name}.json").read_text())
    ids = await vector_ids()
    storage = MemoryStorage()
    for cid, block in BLOCKS.items():
        await storage.put(cid, block)
    me = await ids.create_identity("userA")
    log = await Log.open(me, identities=ids, log_id=data["logId"])
    for head in data["heads"]:

        async def fetch(h: str) -> bytes | None:
            return await storage.get(h)

        assert await log.join_entry(Entry.decode(BLOCKS[head]), fetch=fetch)
    values = await log.values()
    assert [e.hash for e in values] == [v["hash"] for v in data["logValues"]]
    for got, want in zip(values, data["logValues"], strict=True):
        assert got.payload == from_dag_json(want["payload"])
        assert got.signed_bytes() == base64.b64decode(want["signedBytesB64"])
    assert [h.hash for h in await log.heads()] == data["heads"]


@pytest.mark.parametrize("name", ["events", "keyvalue"])
async def test_appending_the_vector_payloads_reproduces_every_hash(name: str) -> None:
    data = json.loads((VECTORS / f"{name}.json").read_text())
    ids = await vector_ids()
    me = await ids.create_identity("userA")
    log = await Log.open(me, identities=ids, log_id=data["logId"])
    for want in data["logValues"]:
        entry = await log.append(from_dag_json(want["payload"]), references_count=data["referencesCount"])
        assert entry.hash == want["hash"]
        assert list(entry.refs) == want["refs"]


async def test_spec_entry_vectors() -> None:
    ids, (a,) = await users("userA")
    hello = await Entry.create(ids, a, "A", "hello")
    assert hello.hash == "zdpuAsKzwUEa8cz9pkJxxFMxLuP3cutA9PDGoLZytrg4RSVEa"
    assert len(hello.bytes) == 399
    assert hello.sig == (
        "3045022100c19956e1e305a48e1dafd14969e3bc9b9fb64ac5cd00e36776826e26fd484cdf"
        "02205232e7566fae9c20e13164501f1e4b25b06d6a605bda0029e28ed06ec2d09384"
    )
    world = await Entry.create(ids, a, "A", "hello world")
    assert world.hash == "zdpuAmthfqpHRQjdSpKN5etr1GrreJb7QcU1Hshm6pERnzsxi"
    db = await Entry.create(
        ids, a, "database-AAA", {"op": "PUT", "key": 1, "value": "record 1 on db 1"}, clock=Clock(a.public_key, 1)
    )
    assert db.hash == "zdpuAwhx6xVpnMPUA7Q4JrvZsyoti5wZ18iDeFwBjPAwsRNof"


async def test_spec_keyvalue_chain_with_refs() -> None:
    ids, (a,) = await users("userA")
    log = await Log.open(a, identities=ids, log_id="keyvalue-AAA")
    first = await log.append({"op": "PUT", "key": "key1", "value": "value1"}, references_count=16)
    assert first.hash == "zdpuAwr2JfE9TNMoXwupvsssCzemc3g8MTKRfVTG7ZS5gH6md"
    log = await Log.open(a, identities=ids, log_id="keyvalue-AAA")
    puts = [
        ("key1", "init"),
        ("key2", True),
        ("key3", "hello"),
        ("key4", "friend"),
        ("key5", "12345"),
        ("key6", "empty"),
        ("key7", "friend33"),
    ]
    prefixes = [
        "zdpuAnpWUWQF",
        "zdpuAwTM75uy",
        "zdpuAvYtscmv",
        "zdpuAqAGnfa8",
        "zdpuAxHZs93Y",
        "zdpuAuGJ6Uon",
        "zdpuAyi1oGLi",
    ]
    hashes = []
    for (k, v), prefix in zip(puts, prefixes, strict=True):
        e = await log.append({"op": "PUT", "key": k, "value": v}, references_count=16)
        assert e.hash.startswith(prefix)
        assert list(e.refs) == hashes[:-1][::-1]
        hashes.append(e.hash)


async def test_four_writers_join_in_upstream_order() -> None:
    # join.test.js "joins 4 logs to one": expected C1, X1, B1, A1, C2, X2, B2, A2
    ids, people = await users("userA", "userB", "userC", "userX")
    logs = {p: await Log.open(p, identities=ids, log_id="X") for p in people}
    for p in people:
        for i in (1, 2):
            await logs[p].append(f"{p.id[:4]}{i}")
    a, b, c, x = people
    target = logs[a]
    for other in (b, c, x):
        await target.join(logs[other])
    got = [e.clock.id for e in await target.values()]
    want = [p.public_key for p in (c, x, b, a) for _ in (1,)] * 2
    assert got == want
