"""Log behaviour: append, heads, clocks, iterator bounds, persistence of heads."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import pytest

from orbitstore.errors import AccessDenied, LogError
from orbitstore.log import AllowAll, Entry, Log
from orbitstore.storage.memory import MemoryStorage
from tests.log.helpers import new_log, users


async def test_append_chains_and_ticks() -> None:
    ids, (a,) = await users("userA")
    log = await new_log(ids, a)
    e1 = await log.append("one")
    e2 = await log.append({"two": 2})
    assert e1.clock.time == 1 and e2.clock.time == 2
    assert e2.next == (e1.hash,)
    assert [h.hash for h in await log.heads()] == [e2.hash]
    assert [e.payload for e in await log.values()] == ["one", {"two": 2}]
    assert await log.has(e1.hash) and await log.get(e1.hash) == e1


async def test_payload_null_is_refused() -> None:
    ids, (a,) = await users("userA")
    log = await new_log(ids, a)
    with pytest.raises(ValueError):
        await log.append(None)
    assert await log.values() == []


async def test_heads_survive_reopen() -> None:
    ids, (a,) = await users("userA")
    entries, heads, index = MemoryStorage(), MemoryStorage(), MemoryStorage()
    log = await Log.open(a, identities=ids, log_id="P", entry_storage=entries, heads_storage=heads, index_storage=index)
    for i in range(5):
        await log.append(i)
    again = await Log.open(
        a, identities=ids, log_id="P", entry_storage=entries, heads_storage=heads, index_storage=index
    )
    assert [e.payload for e in await again.values()] == [0, 1, 2, 3, 4]
    e = await again.append(5)
    assert e.clock.time == 6


async def test_concurrent_heads_listed_newest_first() -> None:
    ids, (a, b) = await users("userA", "userB")
    la, lb = await new_log(ids, a), await new_log(ids, b)
    await la.append("a1")
    await lb.append("b1")
    await lb.append("b2")
    await la.join(lb)
    heads = await la.heads()
    assert [h.payload for h in heads] == ["b2", "a1"]
    merged = await la.append("a3")
    assert merged.next == tuple(h.hash for h in heads)
    assert merged.clock.time == 3
    assert [h.hash for h in await la.heads()] == [merged.hash]


async def test_iterator_bounds() -> None:
    ids, (a,) = await users("userA")
    log = await new_log(ids, a)
    es = [await log.append(f"e{i}") for i in range(10)]

    async def run(**kw: object) -> list[str]:
        return [e.payload async for e in log.iterator(**kw)]  # type: ignore[arg-type]

    assert await run() == [f"e{i}" for i in range(9, -1, -1)]
    assert await run(amount=3) == ["e9", "e8", "e7"]
    assert await run(amount=0) == []
    assert await run(lte=es[5].hash, amount=2) == ["e5", "e4"]
    assert await run(lt=es[5].hash, amount=2) == ["e4", "e3"]
    assert await run(gt=es[6].hash) == ["e9", "e8", "e7"]
    assert await run(gte=es[6].hash) == ["e9", "e8", "e7", "e6"]
    assert await run(gt=es[2].hash, amount=2) == ["e4", "e3"]
    assert await run(gte=es[2].hash, amount=2) == ["e3", "e2"]
    assert await run(lte=es[7].hash, gt=es[3].hash) == ["e7", "e6", "e5", "e4"]


class _DenyB:
    type = "deny-b"

    def __init__(self, banned: str) -> None:
        self.banned = banned

    async def can_append(self, entry: Entry, identity: object, lookup: object) -> bool:
        return getattr(identity, "id", None) != self.banned


async def test_access_controller_consulted_on_append_and_join() -> None:
    ids, (a, b) = await users("userA", "userB")
    deny = _DenyB(b.id)
    la = await new_log(ids, a, access=deny)
    lb = await new_log(ids, b, access=AllowAll())
    with pytest.raises(AccessDenied):
        await (await new_log(ids, b, access=deny)).append("nope")
    await la.append("a1")
    await lb.append("b1")
    before = [e.hash for e in await la.values()]
    with pytest.raises(AccessDenied):
        await la.join(lb)
    assert [e.hash for e in await la.values()] == before
    assert not await la.has((await lb.heads())[0].hash)


async def test_closed_log_refuses_writes() -> None:
    ids, (a,) = await users("userA")
    log = await new_log(ids, a)
    await log.aclose()
    await log.aclose()
    with pytest.raises(LogError):
        await log.append(1)


class _SlowBulkStorage(MemoryStorage):
    """Entry storage whose bulk put takes a while and says when it has begun."""

    def __init__(self) -> None:
        super().__init__()
        self.storing = asyncio.Event()

    async def put_many(self, pairs: Iterable[tuple[str, bytes]]) -> int:
        self.storing.set()
        await asyncio.sleep(0.1)
        return await super().put_many(pairs)


async def test_a_join_cancelled_while_storing_finishes_before_close() -> None:
    """Storing holds the log's lock to the end: close() waits for it, and no failure goes unseen."""
    ids, (a, b) = await users("userA", "userB")
    source = await new_log(ids, b)
    for i in range(20):
        await source.append(i)
    storage = _SlowBulkStorage()
    target = await Log.open(a, identities=ids, log_id="X", entry_storage=storage, heads_storage=MemoryStorage())
    unseen: list[dict[str, object]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: unseen.append(context))
    try:
        (head,) = await source.heads()
        task = asyncio.create_task(target.join_entry(head, fetch=source.entry_storage.get))
        await storage.storing.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(await target.values()) == 20  # the cancelled join's storing ran to the end
        await target.aclose()
        await asyncio.sleep(0.15)
        assert unseen == []
    finally:
        loop.set_exception_handler(None)


async def test_cancelled_join_leaves_nothing_half_done() -> None:
    ids, (a, b) = await users("userA", "userB")
    source = await new_log(ids, b)
    for i in range(200):
        await source.append(i, references_count=4)
    target = await new_log(ids, a)
    started = asyncio.Event()

    async def slow(h: str) -> bytes | None:
        started.set()
        await asyncio.sleep(0.001)
        return await source.entry_storage.get(h)

    (head,) = await source.heads()
    task = asyncio.create_task(target.join_entry(head, fetch=slow))
    await started.wait()
    await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Either nothing was stored, or the whole join was: never indexed entries the heads miss.
    values = await target.values()
    assert len(values) in (0, 200)
    assert all([await target.has(e.hash) for e in values])
    assert await target.join_entry(head, fetch=source.entry_storage.get) is (len(values) == 0)
    assert len(await target.values()) == 200
