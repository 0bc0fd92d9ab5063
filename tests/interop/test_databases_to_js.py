"""(b) through the database API: two orbitstore nodes write events/keyvalue/documents; JS OrbitDB reads them.

The same scenarios as ``test_orbitstore_to_js`` (Python-only values included), but written with
``orbitstore.open()`` and ``store.open(name, type=…)`` by two nodes that replicate by joining heads.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from orbitstore.codec import decode, encode
from tests.interop.harness import (
    DatabaseFile,
    DatabaseNode,
    b64decode,
    describe_mismatch,
    load_dag_json,
    run_node_sync,
    run_rounds,
    write_blocks_file,
)
from tests.interop.test_orbitstore_to_js import SCENARIOS, TYPES

pytestmark = pytest.mark.node


async def _write(path: Path) -> dict[str, dict[str, Any]]:
    files: list[DatabaseFile] = []
    blocks: dict[str, bytes] = {}
    expected: dict[str, dict[str, Any]] = {}
    for type in TYPES:
        a = await DatabaseNode.open("userA", f"orbitstore-db-{type}", type)
        b = await DatabaseNode.open("userB", f"orbitstore-db-{type}", type)
        try:
            assert a.db.address == b.db.address
            await run_rounds(a, b, SCENARIOS[type])  # type: ignore[arg-type]
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
            await a.aclose()
            await b.aclose()
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
