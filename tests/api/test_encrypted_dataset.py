"""Dataset reads through the API go through the dataset's read path, so encrypted records decrypt."""

from __future__ import annotations

from pathlib import Path

from orbitstore.api.local import open_local


async def test_encrypted_dataset_reads_through_the_api(tmp_path: Path) -> None:
    async with open_local(tmp_path, identity="owner") as api:
        info = await api.create("secret", type="dataset", access_controller={"type": "dataset", "encrypted": True})
        db = await api.store.open(info.address)
        assert db.encrypted
        await db.set_schema({"label": {"type": "str", "nullable": False}})
        await db.put("r1", {"label": "plain text in the row"})
        item = await api.get(info.address, "r1")
        assert item.value == {"label": "plain text in the row"}
        raw = await api.store.blocks.get(item.hash)
        assert raw is not None and b"plain text in the row" not in raw  # the stored block is sealed
