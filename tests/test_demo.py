"""``make demo`` runs the whole main job on embedded defaults and verifies its provenance chain."""

from __future__ import annotations

from pathlib import Path

from orbitstore.demo import run


async def test_demo_main_job_end_to_end(tmp_path: Path) -> None:
    summary = await run(tmp_path)
    assert summary["provenance"] == "verified"
    assert summary["records"] == 571  # 569 from the CSV, bob's record, carol's record before her revoke
    assert str(summary["snapshot"]).startswith("zdpu")
    assert "NOT a public chain" in str(summary["anchored_on"])
