"""The Storage contract, run over every storage kind (see ``conftest.KINDS``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from orbitstore.errors import StorageClosed
from orbitstore.storage import ComposedStorage, LRUStorage, MemoryStorage, Storage
from orbitstore.storage.base import BulkStorage, delete_many, put_many

UNICODE_KEYS = ["ключ", "名前", "🔑-emoji", "e\u0301-combining", "zdpu" + "x" * 40, "tab\tand space"]


async def collect(storage: Storage) -> dict[str, bytes]:
    """All pairs, failing on a duplicate key."""
    pairs = [pair async for pair in storage.items()]
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), "items() yielded a key twice"
    return dict(pairs)


async def test_is_a_storage(storage: Storage) -> None:
    assert isinstance(storage, Storage)


async def test_put_then_get(storage: Storage) -> None:
    await storage.put("a", b"1")
    assert await storage.get("a") == b"1"
    assert await storage.get("missing") is None


async def test_put_replaces(storage: Storage) -> None:
    await storage.put("a", b"1")
    await storage.sync()
    await storage.put("a", b"2")
    assert await storage.get("a") == b"2"
    await storage.sync()
    assert await storage.get("a") == b"2"
    assert await collect(storage) == {"a": b"2"}


async def test_delete(storage: Storage) -> None:
    await storage.put("a", b"1")
    await storage.put("b", b"2")
    await storage.sync()
    await storage.delete("a")
    await storage.delete("never-there")
    assert await storage.get("a") is None
    assert await collect(storage) == {"b": b"2"}
    await storage.sync()
    assert await storage.get("a") is None


async def test_put_many_and_delete_many(storage: Storage) -> None:
    """Through the helpers: one bulk call where the storage has it, one ``put``/``delete`` each otherwise."""
    pairs = [(f"bulk-{i:03d}", i.to_bytes(2, "big") * 10) for i in range(300)]
    assert await put_many(storage, iter(pairs)) == 300  # any iterable, read once
    await storage.sync()
    assert await collect(storage) == dict(pairs)
    await delete_many(storage, (key for key, _ in pairs[:200]))
    await delete_many(storage, ["never-there"])
    await storage.sync()
    assert await collect(storage) == dict(pairs[200:])


def test_bulk_storages() -> None:
    bulk = [MemoryStorage(), LRUStorage(), ComposedStorage(MemoryStorage(), MemoryStorage())]
    assert all(isinstance(s, BulkStorage) for s in bulk)


async def test_items_returns_every_pair_once(storage: Storage) -> None:
    expected = {}
    for i in range(600):  # crosses embedded commit and iteration-chunk boundaries
        key = f"key-{i:04d}"
        expected[key] = key.encode() * 3
        await storage.put(key, expected[key])
        if i % 97 == 0:
            await storage.sync()
    for i in range(0, 600, 5):
        await storage.delete(f"key-{i:04d}")
        del expected[f"key-{i:04d}"]
    assert await collect(storage) == expected
    await storage.sync()
    assert await collect(storage) == expected


async def test_items_of_empty_storage(storage: Storage) -> None:
    assert await collect(storage) == {}


async def test_merge_copies_the_other_storage(storage: Storage) -> None:
    other = MemoryStorage()
    await other.put("x", b"from other")
    await other.put("shared", b"other value")
    await storage.put("mine", b"own")
    await storage.merge(other)
    await storage.sync()
    got = await collect(storage)
    assert got["x"] == b"from other"
    assert got["shared"] == b"other value"
    assert got["mine"] == b"own"
    await other.aclose()


async def test_clear(storage: Storage) -> None:
    for i in range(20):
        await storage.put(f"k{i}", b"v")
    await storage.sync()
    await storage.put("pending", b"v")
    await storage.clear()
    assert await collect(storage) == {}
    assert await storage.get("k1") is None
    await storage.put("after", b"clear")
    await storage.sync()
    assert await collect(storage) == {"after": b"clear"}


async def test_sync_keeps_everything(storage: Storage) -> None:
    await storage.put("a", b"1")
    await storage.sync()
    await storage.sync()
    assert await storage.get("a") == b"1"


async def test_binary_empty_and_large_values(storage: Storage) -> None:
    every_byte = bytes(range(256)) * 4
    large = b"\x00\xff" * 300_000
    await storage.put("binary", every_byte)
    await storage.put("empty", b"")
    await storage.put("large", large)
    await storage.sync()
    assert await storage.get("binary") == every_byte
    assert await storage.get("empty") == b""
    assert await storage.get("large") == large
    got = await collect(storage)
    assert got["empty"] == b""


async def test_unicode_keys(storage: Storage) -> None:
    for i, key in enumerate(UNICODE_KEYS):
        await storage.put(key, str(i).encode())
    await storage.sync()
    for i, key in enumerate(UNICODE_KEYS):
        assert await storage.get(key) == str(i).encode()
    assert set(await collect(storage)) == set(UNICODE_KEYS)


async def test_aclose_twice(storage: Storage) -> None:
    await storage.put("a", b"1")
    await storage.aclose()
    await storage.aclose()


async def test_async_with_closes(storage: Storage) -> None:
    async with storage as opened:  # type: ignore[attr-defined]
        assert opened is storage
        await opened.put("a", b"1")
    with pytest.raises(StorageClosed):
        await storage.get("a")


async def _iterate(storage: Storage) -> None:
    async for _ in storage.items():
        pass


VERBS: dict[str, Callable[[Storage], Awaitable[object]]] = {
    "put": lambda s: s.put("a", b"1"),
    "get": lambda s: s.get("a"),
    "delete": lambda s: s.delete("a"),
    "items": _iterate,
    "merge": lambda s: s.merge(MemoryStorage()),
    "clear": lambda s: s.clear(),
    "sync": lambda s: s.sync(),
}


@pytest.mark.parametrize("verb", sorted(VERBS))
async def test_every_verb_raises_after_close(storage: Storage, verb: str) -> None:
    await storage.put("a", b"1")
    await storage.aclose()
    with pytest.raises(StorageClosed):
        await VERBS[verb](storage)
