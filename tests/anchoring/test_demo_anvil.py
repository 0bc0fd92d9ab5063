"""``python -m orbitstore.demo --rpc URL``: the main job anchoring on a real EVM chain (anvil)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orbitstore.demo import run
from tests.anchoring.conftest import ANVIL_KEYS, Anvil


async def test_demo_anchors_on_anvil_when_asked(tmp_path: Path, anvil: Anvil, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORBITSTORE_EVM_KEY", ANVIL_KEYS[0])
    summary = await run(tmp_path, rpc=anvil.url)
    assert summary["provenance"] == "verified"
    assert summary["anchored_on"] == f"the EVM chain at {anvil.url}"
