"""ComposedStorage: put to both, get with back-fill, merge both ways, union of items."""

from __future__ import annotations

from pathlib import Path

import pytest

from orbitstore.errors import StorageClosed, StorageError
from orbitstore.storage import ComposedStorage, EmbeddedStore, LRUStorage, MemoryStorage


async def test_put_goes_to_both() -> None:
    first, second = MemoryStorage(), MemoryStorage()
    composed = ComposedStorage(first, second)
    await composed.put("a", b"1")
    assert await first.get("a") == b"1"
    assert await second.get("a") == b"1"
    await composed.aclose()


async def test_get_back_fills_first() -> None:
    first, second = LRUStorage(size=2), MemoryStorage()
    composed = ComposedStorage(first, second)
    for key in "abc":
        await composed.put(key, key.encode())
    assert await first.get("a") is None  # evicted from the LRU...
    assert await composed.get("a") == b"a"  # ...still found in the second layer...
    assert await first.get("a") == b"a"  # ...and copied back into the first
    assert await composed.get("zzz") is None
    assert await first.get("zzz") is None
    await composed.aclose()


async def test_get_prefers_first() -> None:
    first, second = MemoryStorage(), MemoryStorage()
    await first.put("a", b"first")
    await second.put("a", b"second")
    composed = ComposedStorage(first, second)
    assert await composed.get("a") == b"first"
    await composed.aclose()


async def test_items_is_a_union_without_duplicates() -> None:
    first, second = MemoryStorage(), MemoryStorage()
    await first.put("only-first", b"1")
    await first.put("both", b"b")
    await second.put("both", b"b")
    await second.put("only-second", b"2")
    composed = ComposedStorage(first, second)
    pairs = [pair async for pair in composed.items()]
    assert sorted(pairs) == [("both", b"b"), ("only-first", b"1"), ("only-second", b"2")]
    await composed.aclose()


async def test_merge_goes_both_ways() -> None:
    first, second, other = MemoryStorage(), MemoryStorage(), MemoryStorage()
    await first.put("in-first", b"1")
    await second.put("in-second", b"2")
    await other.put("in-other", b"3")
    composed = ComposedStorage(first, second)
    await composed.merge(other)
    everything = {"in-first": b"1", "in-second": b"2", "in-other": b"3"}
    assert {k: v async for k, v in other.items()} == everything
    assert await first.get("in-other") == b"3"
    assert await second.get("in-other") == b"3"
    await composed.aclose()
    await other.aclose()


async def test_delete_and_clear_reach_both() -> None:
    first, second = MemoryStorage(), MemoryStorage()
    composed = ComposedStorage(first, second)
    await composed.put("a", b"1")
    await composed.put("b", b"2")
    await composed.delete("a")
    assert await first.get("a") is None
    assert await second.get("a") is None
    await composed.clear()
    assert len(first) == 0
    assert len(second) == 0
    await composed.aclose()


async def test_aclose_closes_both_even_if_first_fails() -> None:
    class FailingClose(MemoryStorage):
        async def aclose(self) -> None:
            await super().aclose()
            raise StorageError("boom")

    first, second = FailingClose(), MemoryStorage()
    composed = ComposedStorage(first, second)
    with pytest.raises(StorageError, match="boom"):
        await composed.aclose()
    assert second.closed
    await composed.aclose()  # closed already: no second attempt, no error
    with pytest.raises(StorageClosed):
        await composed.get("a")


async def test_lru_in_front_of_embedded_survives_reopen(tmp_path: Path) -> None:
    store = await EmbeddedStore.open(tmp_path)
    composed = ComposedStorage(LRUStorage(size=1000), store.storage("entries"))
    await composed.put("cid", b"block")
    await composed.sync()
    await composed.aclose()
    await store.aclose()

    store = await EmbeddedStore.open(tmp_path)
    lru = LRUStorage(size=1000)
    composed = ComposedStorage(lru, store.storage("entries"))
    assert await lru.get("cid") is None
    assert await composed.get("cid") == b"block"
    assert await lru.get("cid") == b"block"
    await composed.aclose()
    await store.aclose()
