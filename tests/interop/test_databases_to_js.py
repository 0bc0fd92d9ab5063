"""(b) through the database API: two orbitstore nodes write events/keyvalue/documents; JS OrbitDB reads them.

The same scenarios as ``test_orbitstore_to_js`` (Python-only values included), but written with
``orbitstore.open()`` and ``store.open(name, type=…)`` by two nodes that replicate by joining heads.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import orbitstore
from orbitstore.codec import decode, encode
from orbitstore.store import OrbitStore
from tests.interop.harness import (
    FIXTURE_KEYS,
    DatabaseFile,
    b64decode,
    describe_mismatch,
    fixture_identity,
    load_dag_json,
    run_node_sync,
    write_blocks_file,
)
from tests.interop.test_orbitstore_to_js import SCENARIOS, TYPES

pytestmark = pytest.mark.node


class Node:
    """One orbitstore node writing one database, with the verbs the scenarios use."""

    def __init__(self, store: OrbitStore, db: Any) -> None:
        self.store = store
        self.db = db

    @classmethod
    async def open(cls, user: str, type: str, write: list[str]) -> Node:
        identities, identity = await fixture_identity(user)
        store = await orbitstore.open(identities=identities, identity=identity)
        identities.storage = store.blocks  # the node's block store holds identity blocks too
        await store.blocks.put(identity.hash, identity.bytes)
        db = await store.open(f"orbitstore-db-{type}", type=type, access_controller={"type": "ipfs", "write": write})
        return cls(store, db)

    async def apply(self, operation: list[Any]) -> None:
        op, *args = operation
        if op == "add":
            await self.db.add(*args)
        elif op == "put":
            await self.db.put(*args)
        else:
            await self.db.delete(*args)

    async def join(self, other: Node) -> None:
        for head in await other.db.heads():
            await self.db.join_entry(head, fetch=other.store.blocks.get)


async def _write(path: Path) -> dict[str, dict[str, Any]]:
    files: list[DatabaseFile] = []
    blocks: dict[str, bytes] = {}
    expected: dict[str, dict[str, Any]] = {}
    write = [FIXTURE_KEYS[u][1] for u in ("userA", "userB")]
    for type in TYPES:
        a = await Node.open("userA", type, write)
        b = await Node.open("userB", type, write)
        try:
            assert a.db.address == b.db.address
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
            heads = [h.hash for h in await a.db.heads()]
            expected[type] = {
                "address": str(a.db.address),
                "hashes": [e.hash for e in await a.db.log.values()],
                "heads": heads,
                "all": await a.db.all(),
            }
            files.append(DatabaseFile(f"orbitstore-db-{type}", type, str(a.db.address), heads))
        finally:
            await a.store.aclose()
            await b.store.aclose()
    write_blocks_file(path, blocks, files)
    return expected


@pytest.fixture(scope="module")
def js_read_databases(node: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("databases-to-js")
    expected = asyncio.run(_write(tmp / "blocks.json"))
    run_node_sync(node, "read.mjs", str(tmp / "blocks.json"), str(tmp / "read.json"))
    return expected, load_dag_json(tmp / "read.json")


@pytest.mark.parametrize("type", TYPES)
def test_js_opens_orbitstore_databases_by_address(js_read_databases: tuple[dict[str, Any], Any], type: str) -> None:
    expected, report = js_read_databases
    ours = expected[type]
    (db,) = [d for d in report["databases"] if d["address"] == ours["address"]]
    assert db.get("error") is None, db.get("error")
    assert db["verified"] is True, db["failures"]
    assert [e["hash"] for e in db["log"]] == ours["hashes"]
    assert db["heads"] == ours["heads"]
    js_all = b64decode(db["allCbor"])
    mine = ours["all"]
    if type == "events":
        mine = [{"hash": x["hash"], "value": x["value"]} for x in mine]
    assert js_all == encode(mine), describe_mismatch(mine, decode(js_all))
