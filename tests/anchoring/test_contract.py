"""The committed Anchor contract: its ABI, and its bytecode recompiled with the pinned solc-js."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

from eth_utils.crypto import keccak

from orbitstore.anchoring.backends.contract import ANCHORED_EVENT, anchor_artifact, anchor_calldata, anchored_topic
from tests.anchoring.conftest import TOOLS
from tests.conftest import ROOT, need

SOURCE = ROOT / "orbitstore" / "anchoring" / "contracts" / "Anchor.sol"


def test_artifact_abi_has_the_event_and_function() -> None:
    abi = anchor_artifact()["abi"]
    event = next(item for item in abi if item["type"] == "event")
    assert event["name"] == "Anchored"
    assert [(i["name"], i["type"], i["indexed"]) for i in event["inputs"]] == [
        ("root", "bytes32", True),
        ("by", "address", True),
        ("count", "uint256", False),
        ("meta", "string", False),
    ]
    function = next(item for item in abi if item["type"] == "function")
    assert function["name"] == "anchor"
    assert [i["type"] for i in function["inputs"]] == ["bytes32", "uint256", "string"]
    assert keccak(text=ANCHORED_EVENT).hex() == "f2ce3903a706d4d3799fc814d90e6026d0746194e22c1fda1cbfa2b8b6bf01f9"
    assert anchored_topic() == keccak(text=ANCHORED_EVENT)
    # The selector of anchor(bytes32,uint256,string) is the one the bytecode dispatches on.
    selector = anchor_calldata(b"\x01" * 32, 1, "")[:4]
    assert selector.hex() in anchor_artifact()["deployedBytecode"]


def test_recompiling_with_solc_js_gives_the_committed_bytecode() -> None:
    node = shutil.which("node")
    if node is None:
        need("node not installed: run make test")
    if not (TOOLS / "node_modules" / "solc" / "package.json").exists():
        need("solc-js not installed: run make test (npm ci in tools/anvil)")
    assert node is not None
    result = subprocess.run(
        [node, str(TOOLS / "compile-anchor.js"), str(SOURCE)],
        capture_output=True,
        timeout=120,
        check=False,
        env={**os.environ, "NODE_OPTIONS": ""},
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    fresh: dict[str, Any] = json.loads(result.stdout)
    committed = anchor_artifact()
    assert fresh["bytecode"] == committed["bytecode"]
    assert fresh["deployedBytecode"] == committed["deployedBytecode"]
    assert fresh["abi"] == committed["abi"]
    assert fresh["compiler"] == committed["compiler"]
    pinned = json.loads((TOOLS / "package.json").read_text())["dependencies"]["solc"]
    assert committed["compiler"]["version"].startswith(pinned + "+")
