"""Fixtures for the JS OrbitDB interop tests: the node binary and the blocks JS wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import need
from tests.interop.harness import find_node, load_dag_json, run_node_sync


@pytest.fixture(scope="session")
def node() -> str:
    """Path of ``node`` when it and ``tests/interop/js/node_modules/@orbitdb/core`` are installed."""
    found = find_node()
    if found is None:
        need("JS OrbitDB not installed: run make test")
    assert found is not None
    return found


@pytest.fixture(scope="session")
def js_written(node: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What ``write.mjs all`` exported: blocks, identities and the three databases (once per session)."""
    out: Path = tmp_path_factory.mktemp("interop") / "js-written.json"
    run_node_sync(node, "write.mjs", str(out), "all")
    doc: dict[str, Any] = load_dag_json(out)
    return doc
