"""EmbeddedStore: persistence, the two durability modes, the shared buffer, errors."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import lmdb
import pytest

from orbitstore.errors import ConfigError, NotFound, StorageClosed, StorageError
from orbitstore.storage import EmbeddedStorage, EmbeddedStore
from orbitstore.storage._wal import wal_files
from orbitstore.storage.embedded import DATA_FILE

# Long enough that the timer never fires during a test that does not wait for it.
NEVER = 3600.0


async def contents(storage: EmbeddedStorage) -> dict[str, bytes]:
    return {key: value async for key, value in storage.items()}


# -- persistence -----------------------------------------------------------------------------------


@pytest.mark.parametrize("durability", ["batch", "durable"])
async def test_reopen_keeps_data(tmp_path: Path, durability: str) -> None:
    store = await EmbeddedStore.open(tmp_path, durability=durability)  # type: ignore[arg-type]
    entries, heads = store.storage("entries"), store.storage("heads")
    for i in range(50):
        await entries.put(f"e{i}", b"x" * i)
    await heads.put("heads", b"[e49]")
    await heads.sync()
    await entries.delete("e0")
    await store.aclose()
    assert sorted(os.listdir(tmp_path)) == [DATA_FILE, DATA_FILE + "-lock"]

    store = await EmbeddedStore.open(tmp_path, durability=durability)  # type: ignore[arg-type]
    entries, heads = store.storage("entries"), store.storage("heads")
    assert await heads.get("heads") == b"[e49]"
    assert await contents(entries) == {f"e{i}": b"x" * i for i in range(1, 50)}
    await store.aclose()


async def test_sub_storages_are_separate(tmp_path: Path) -> None:
    async with await EmbeddedStore.open(tmp_path) as store:
        a, b = store.storage("a"), store.storage("b")
        await a.put("k", b"in a")
        assert await b.get("k") is None
        await b.clear()
        assert await a.get("k") == b"in a"
        assert store.storage("a") is a


async def test_items_in_key_order_merging_pending_over_disk(tmp_path: Path) -> None:
    async with await EmbeddedStore.open(tmp_path, batch_interval=NEVER) as store:
        s = store.storage("s")
        for key in ("a", "c", "e", "g"):
            await s.put(key, b"disk")
        await store.flush()
        await s.put("b", b"pending")
        await s.delete("c")
        await s.put("e", b"pending")
        await s.put("h", b"pending")
        assert [p async for p in s.items()] == [
            ("a", b"disk"),
            ("b", b"pending"),
            ("e", b"pending"),
            ("g", b"disk"),
            ("h", b"pending"),
        ]
        await s.clear()
        await s.put("z", b"after clear")
        assert [p async for p in s.items()] == [("z", b"after clear")]
        assert await s.get("a") is None
        await store.flush()
        assert [p async for p in s.items()] == [("z", b"after clear")]


async def test_items_while_writing_yields_each_key_once(tmp_path: Path) -> None:
    async with await EmbeddedStore.open(tmp_path, batch_size=50) as store:
        s = store.storage("s")
        await s.load((f"k{i:05d}", b"v") for i in range(2000))
        seen: list[str] = []
        async for key, _ in s.items():
            seen.append(key)
            if len(seen) % 100 == 0:  # writes and commits between iteration chunks
                await s.put(f"k{len(seen):05d}x", b"new")
                await s.delete(f"k{len(seen) + 500:05d}")
                await store.flush()
        assert len(seen) == len(set(seen))
        assert seen == sorted(seen)
        assert {f"k{i:05d}" for i in range(2000) if i % 100 and i < 600} <= set(seen)


# -- durability modes ------------------------------------------------------------------------------


async def test_durable_sync_logs_ahead_and_commits_in_batches(tmp_path: Path) -> None:
    async with await EmbeddedStore.open(tmp_path, durability="durable", batch_interval=NEVER) as store:
        entries, heads = store.storage("entries"), store.storage("heads")
        for i in range(5):
            await entries.put(f"e{i}", b"v")
        await heads.put("heads", b"e4")
        assert await entries.get("e3") == b"v"  # reads see pending writes
        await heads.sync()  # durable now: one write-ahead log frame, fdatasynced
        assert store.stats().commits == 0
        assert wal_files(tmp_path) and sum(p.stat().st_size for p in wal_files(tmp_path)) > 0
        await store.flush()
        stats = store.stats()
        assert (stats.commits, stats.committed_ops, stats.pending_ops) == (1, 6, 0)
    assert wal_files(tmp_path) == []  # a clean close leaves no log behind


async def test_logged_writes_are_replayed_on_open(tmp_path: Path) -> None:
    store = await EmbeddedStore.open(tmp_path, durability="durable", batch_interval=NEVER)
    s = store.storage("s")
    await s.put("kept", b"1")
    await s.put("gone", b"x")
    await s.sync()
    await store.flush()  # LMDB holds kept and gone; the log restarts
    await s.delete("gone")
    await s.put("kept", b"2")
    await s.clear()
    await s.put("after-clear", b"3")
    await s.sync()
    # Simulate a crash: the process dies without committing LMDB; only the log holds the writes.
    if store._timer is not None:
        store._timer.cancel()
    store._env.close()
    os.close(store._lock_fd)
    store._closed = True
    with wal_files(tmp_path)[-1].open("ab") as f:
        f.write(b"\x00\x00\x00\x09torn")  # a frame torn by the crash: never acknowledged, ignored
    async with await EmbeddedStore.open(tmp_path) as again:  # batch mode: replays all the same
        assert await contents(again.storage("s")) == {"after-clear": b"3"}
    assert wal_files(tmp_path) == []


async def test_batch_commits_when_batch_size_writes_pending(tmp_path: Path) -> None:
    async with await EmbeddedStore.open(tmp_path, batch_size=5, batch_interval=NEVER) as store:
        s = store.storage("s")
        for i in range(4):
            await s.put(f"k{i}", b"v")
        await s.sync()  # batch mode: sync does not commit
        assert store.stats().commits == 0
        assert store.stats().pending_ops == 4
        await s.put("k4", b"v")
        assert store.stats().commits == 1
        assert store.stats().pending_ops == 0


async def test_batch_commits_after_batch_interval(tmp_path: Path) -> None:
    async with await EmbeddedStore.open(tmp_path, batch_size=1000, batch_interval=0.02) as store:
        s = store.storage("s")
        await s.put("k", b"v")
        assert store.stats().commits == 0
        for _ in range(200):
            await asyncio.sleep(0.01)
            if store.stats().commits:
                break
        assert store.stats().commits == 1
        assert store.stats().pending_ops == 0


async def test_flush_and_aclose_commit_in_batch_mode(tmp_path: Path) -> None:
    store = await EmbeddedStore.open(tmp_path, batch_interval=NEVER)
    s = store.storage("s")
    await s.put("a", b"1")
    await store.flush()
    assert store.stats().commits == 1
    await s.put("b", b"2")
    await store.aclose()
    async with await EmbeddedStore.open(tmp_path, readonly=True) as store:
        assert await contents(store.storage("s")) == {"a": b"1", "b": b"2"}


async def test_concurrent_durable_writers_share_commits(tmp_path: Path) -> None:
    async with await EmbeddedStore.open(tmp_path, durability="durable") as store:
        s = store.storage("s")

        async def writer(i: int) -> None:
            await s.put(f"w{i}", b"v")
            await s.sync()
            assert store.stats().pending_ops == 0 or await s.get(f"w{i}") == b"v"

        await asyncio.gather(*(writer(i) for i in range(30)))
        assert store.stats().commits < 30  # group commit
    async with await EmbeddedStore.open(tmp_path) as store:
        assert len(await contents(store.storage("s"))) == 30


async def test_cancelled_flush_still_commits(tmp_path: Path) -> None:
    async with await EmbeddedStore.open(tmp_path, durability="durable") as store:
        s = store.storage("s")
        await s.put("a", b"1")
        task = asyncio.create_task(store.flush())
        await asyncio.sleep(0)  # the commit is now running in its thread
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await s.get("a") == b"1"
        await store.flush()
        assert store.stats().commits == 1
        assert store.stats().pending_ops == 0


async def test_load_commits_in_chunks(tmp_path: Path) -> None:
    async with await EmbeddedStore.open(tmp_path, durability="durable") as store:
        s = store.storage("s")
        count = await s.load(((f"k{i:05d}", b"v" * 10) for i in range(2500)), chunk_size=1000)
        assert count == 2500
        stats = store.stats()
        assert (stats.commits, stats.pending_ops) == (3, 0)
    async with await EmbeddedStore.open(tmp_path) as store:
        assert len(await contents(store.storage("s"))) == 2500


async def test_map_grows_when_full(tmp_path: Path) -> None:
    store = await EmbeddedStore.open(tmp_path, map_size=1 << 16)
    s = store.storage("s")
    await s.put("first", b"1")
    await store.flush()
    assert await s.get("first") == b"1"  # a cached read transaction is now open
    value = b"v" * 4000
    await s.load((f"k{i}", value) for i in range(300))  # 1.2 MB into a 64 KiB map
    assert store.stats().map_size > 1 << 20
    await store.aclose()
    async with await EmbeddedStore.open(tmp_path, map_size=1 << 16) as store:
        assert await store.storage("s").get("k299") == value


# -- commit failures -------------------------------------------------------------------------------


async def test_failed_commit_keeps_writes_pending_and_refuses_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orbitstore.storage import embedded
    from orbitstore.storage._environment import write_buffer as real

    failing = True

    def flaky(*args: object) -> object:
        if failing:
            raise lmdb.DiskError("injected")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(embedded, "write_buffer", flaky)
    async with await EmbeddedStore.open(tmp_path, durability="durable") as store:
        s = store.storage("s")
        await s.put("a", b"1")
        await s.sync()  # durable through the write-ahead log
        with pytest.raises(StorageError, match="injected"):
            await store.flush()
        assert await s.get("a") == b"1"  # still pending, still readable
        with pytest.raises(StorageError, match="flush"):
            await s.put("b", b"2")
        failing = False
        await store.flush()
        await s.put("b", b"2")
        await s.sync()
    async with await EmbeddedStore.open(tmp_path) as store:
        assert await contents(store.storage("s")) == {"a": b"1", "b": b"2"}


async def test_failed_background_commit_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from orbitstore.storage import embedded
    from orbitstore.storage._environment import write_buffer as real

    failing = True

    def flaky(*args: object) -> object:
        if failing:
            raise lmdb.DiskError("injected")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(embedded, "write_buffer", flaky)
    async with await EmbeddedStore.open(tmp_path, batch_interval=0.01) as store:
        s = store.storage("s")
        await s.put("a", b"1")
        for _ in range(100):
            await asyncio.sleep(0.01)
            try:
                await s.sync()
            except StorageError:
                break
        else:
            pytest.fail("the timer's failed commit was never reported")
        failing = False
        await store.flush()
        assert store.stats().commits == 1


# -- lifecycle and errors --------------------------------------------------------------------------


async def test_opening_twice_is_refused(tmp_path: Path) -> None:
    store = await EmbeddedStore.open(tmp_path)
    with pytest.raises(StorageError, match="already open"):
        await EmbeddedStore.open(tmp_path)
    with pytest.raises(StorageError, match="already open"):
        await EmbeddedStore.open(tmp_path, readonly=True)
    await store.aclose()
    store = await EmbeddedStore.open(tmp_path)  # free again once closed
    await store.aclose()


async def test_aclose_is_idempotent_and_closes_everything(tmp_path: Path) -> None:
    store = await EmbeddedStore.open(tmp_path, batch_interval=0.01)
    s = store.storage("s")
    await s.put("a", b"1")  # starts the timer task
    await store.aclose()
    await store.aclose()
    assert store.closed and s.closed
    assert asyncio.all_tasks() == {asyncio.current_task()}
    for call in (s.get("a"), s.put("a", b"1"), store.flush()):
        with pytest.raises(StorageClosed):
            await call
    with pytest.raises(StorageClosed):
        store.storage("s")
    await s.aclose()


async def test_closing_a_sub_storage_commits_and_leaves_the_store_open(tmp_path: Path) -> None:
    async with await EmbeddedStore.open(tmp_path, batch_interval=NEVER) as store:
        s = store.storage("s")
        await s.put("a", b"1")
        await s.aclose()
        assert store.stats().commits == 1
        with pytest.raises(StorageClosed):
            await s.get("a")
        again = store.storage("s")
        assert again is not s
        assert await again.get("a") == b"1"


async def test_readonly(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="read-only"):
        await EmbeddedStore.open(tmp_path / "missing", readonly=True)
    assert not (tmp_path / "missing").exists()
    async with await EmbeddedStore.open(tmp_path) as store:
        await store.storage("s").put("a", b"1")
    async with await EmbeddedStore.open(tmp_path, readonly=True) as store:
        s = store.storage("s")
        assert await s.get("a") == b"1"
        with pytest.raises(StorageError, match="read-only"):
            await s.put("b", b"2")
        await s.sync()
        await store.flush()
        with pytest.raises(NotFound):
            store.storage("never-created")


async def test_path_that_is_a_file(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_bytes(b"")
    with pytest.raises(ConfigError, match="not a directory"):
        await EmbeddedStore.open(path)


@pytest.mark.parametrize(
    "options",
    [
        {"durability": "sometimes"},
        {"batch_size": 0},
        {"batch_size": 1.5},
        {"batch_interval": 0},
        {"batch_interval": -1.0},
        {"map_size": 100},
        {"max_dbs": 0},
    ],
)
async def test_bad_options(tmp_path: Path, options: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        await EmbeddedStore.open(tmp_path, **options)  # type: ignore[arg-type]
    assert not (tmp_path / DATA_FILE).exists()


async def test_keys_lmdb_cannot_store(tmp_path: Path) -> None:
    async with await EmbeddedStore.open(tmp_path) as store:
        s = store.storage("s")
        for key in ("", "x" * 512, "é" * 256, "\ud800"):
            with pytest.raises(StorageError):
                await s.put(key, b"v")
            assert await s.get(key) is None
            await s.delete(key)
        await s.put("x" * 511, b"longest")
        assert await s.get("x" * 511) == b"longest"
        with pytest.raises(TypeError):
            await s.put("k", "text")  # type: ignore[arg-type]
        assert store.stats().pending_ops == 1


async def test_too_many_sub_storages(tmp_path: Path) -> None:
    async with await EmbeddedStore.open(tmp_path, max_dbs=2) as store:
        store.storage("a")
        store.storage("b")
        with pytest.raises(ConfigError, match="max_dbs"):
            store.storage("c")
        with pytest.raises(ConfigError):
            store.storage("")
