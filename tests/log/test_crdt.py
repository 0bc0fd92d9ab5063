"""CRDT laws: join is commutative, associative and idempotent; replicas converge."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orbitstore.log import Log
from tests.log.helpers import new_log, users

# (writer index, action): action None = append, otherwise join from that writer's replica
steps = st.lists(st.tuples(st.integers(0, 2), st.one_of(st.none(), st.integers(0, 2))), min_size=1, max_size=25)


async def _hashes(log: Log) -> list[str]:
    return [e.hash for e in await log.values()]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
async def test_any_interleaving_converges(plan: list[tuple[int, int | None]]) -> None:
    ids, people = await users("userA", "userB", "userC")
    replicas = [await new_log(ids, p) for p in people]
    for n, (who, action) in enumerate(plan):
        if action is None:
            await replicas[who].append(f"{who}-{n}", references_count=n % 4)
        elif action != who:
            await replicas[who].join(replicas[action])
    # full exchange: everyone joins everyone, twice over
    for _ in range(2):
        for r in replicas:
            for other in replicas:
                if other is not r:
                    await r.join(other)
    orders = [await _hashes(r) for r in replicas]
    assert orders[0] == orders[1] == orders[2]
    heads = [sorted(h.hash for h in await r.heads()) for r in replicas]
    assert heads[0] == heads[1] == heads[2]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 2), min_size=3, max_size=15))
async def test_join_laws(writers: list[int]) -> None:
    ids, people = await users("userA", "userB", "userC")
    base = [await new_log(ids, p) for p in people]
    for n, w in enumerate(writers):
        await base[w].append(n)
    a, b, c = base

    async def merged(*parts: Log) -> list[str]:
        out = await new_log(ids, people[0])
        for p in parts:
            await out.join(p)
        return await _hashes(out)

    # commutative
    assert await merged(a, b) == await merged(b, a)
    # associative: (a ∪ b) ∪ c == a ∪ (b ∪ c)
    ab = await new_log(ids, people[0])
    await ab.join(a)
    await ab.join(b)
    bc = await new_log(ids, people[0])
    await bc.join(b)
    await bc.join(c)
    assert await merged(ab, c) == await merged(a, bc)
    # idempotent
    before = await _hashes(ab)
    await ab.join(ab)
    await ab.join(a)
    assert await _hashes(ab) == before
