"""LRUStorage: bounded, least recently used pair evicted first."""

from __future__ import annotations

import pytest

from orbitstore.errors import ConfigError
from orbitstore.storage import LRUStorage, MemoryStorage


async def keys_of(storage: LRUStorage) -> list[str]:
    return [key async for key, _ in storage.items()]


async def test_evicts_least_recently_put() -> None:
    lru = LRUStorage(size=3)
    for key in "abcd":
        await lru.put(key, key.encode())
    assert await keys_of(lru) == ["b", "c", "d"]
    assert await lru.get("a") is None
    assert len(lru) == 3
    await lru.aclose()


async def test_get_and_put_refresh_recency() -> None:
    lru = LRUStorage(size=3)
    for key in "abc":
        await lru.put(key, b"v")
    assert await lru.get("a") == b"v"  # a is now the most recent
    await lru.put("b", b"v2")  # so is b
    await lru.put("d", b"v")  # evicts c, the least recent
    assert await keys_of(lru) == ["a", "b", "d"]
    assert await lru.get("c") is None
    await lru.aclose()


async def test_items_does_not_refresh() -> None:
    lru = LRUStorage(size=2)
    await lru.put("a", b"1")
    await lru.put("b", b"2")
    assert await keys_of(lru) == ["a", "b"]
    await lru.put("c", b"3")
    assert await keys_of(lru) == ["b", "c"]
    await lru.aclose()


async def test_merge_larger_than_size_keeps_the_last() -> None:
    source = MemoryStorage()
    for i in range(10):
        await source.put(f"k{i}", b"v")
    lru = LRUStorage(size=4)
    await lru.merge(source)
    assert await keys_of(lru) == ["k6", "k7", "k8", "k9"]
    await lru.aclose()
    await source.aclose()


async def test_delete_frees_room() -> None:
    lru = LRUStorage(size=2)
    await lru.put("a", b"1")
    await lru.put("b", b"2")
    await lru.delete("a")
    await lru.put("c", b"3")
    assert await keys_of(lru) == ["b", "c"]
    await lru.aclose()


@pytest.mark.parametrize("size", [0, -1, 1.5, True, "10"])
def test_size_must_be_a_positive_integer(size: object) -> None:
    with pytest.raises(ConfigError):
        LRUStorage(size=size)  # type: ignore[arg-type]


def test_default_size_is_orbitdbs() -> None:
    assert LRUStorage().size == 1_000_000
