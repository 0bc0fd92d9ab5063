"""Shared test fixtures and the skip-or-fail rule for real components.

A test that needs Kubo, anvil, node or Chromium calls :func:`need` when the
component is missing: it skips with the reason when run by hand, and fails
when ``ORBITSTORE_REQUIRE_ALL=1`` is set (as ``.ci/run`` does).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
VECTORS = SHARED / "vectors" / "orbitdb-3.0.2"
TOOLS_BIN = ROOT / ".tools" / "bin"


def require_all() -> bool:
    """True when every real component must be present (CI)."""
    return os.environ.get("ORBITSTORE_REQUIRE_ALL", "") not in ("", "0")


def need(reason: str) -> None:
    """Skip (by hand) or fail (under ORBITSTORE_REQUIRE_ALL=1) with ``reason``."""
    if require_all():
        pytest.fail(f"required component missing: {reason}", pytrace=False)
    pytest.skip(reason)
