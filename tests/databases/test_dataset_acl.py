"""Causal access control of datasets: unauthorized, granted and revoked writers, admins, convergence."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orbitstore
from orbitstore.databases.dataset import Dataset
from orbitstore.databases.dataset.ops import grant_payload, put_payload
from orbitstore.databases.dataset.records import encode_record
from orbitstore.errors import AccessDenied, DatabaseError
from orbitstore.store import OrbitStore
from tests.databases.test_dataset import create, open_on, peers, raw_log, rows, sync


async def _forge(db: Dataset, payload: dict[str, object]) -> str:
    """Append ``payload`` on a bare log at ``db``'s heads (no checks): what a misbehaving peer sends."""
    forged = await raw_log(db)
    for head in await db.heads():
        await forged.join_entry(head)
    return (await forged.append(payload)).hash


async def test_unauthorized_writer_is_refused() -> None:
    async with peers("alice", "bob") as (a, b):
        db_a = await create(a)
        await db_a.put("p1", {"age": 1})
        db_b = await open_on(b, db_a)
        await sync(db_a, db_b)
        with pytest.raises(AccessDenied, match=b.identity.id):
            await db_b.put("p2", {"age": 2})
        block = encode_record("p2", {"age": 2, "bmi": None, "name": None, "sick": None})
        await b.blocks.put(block.key, block.bytes)
        h = await _forge(db_b, put_payload("p2", block.link))
        with pytest.raises(AccessDenied, match=f"identity {b.identity.id} does not hold write or admin"):
            await sync(db_b, db_a, heads=[h])
        assert not await db_a.log.has(h) and await db_a.count() == 1


async def test_granted_writer_writes() -> None:
    async with peers("alice", "bob") as (a, b):
        db_a = await create(a)
        await db_a.grant("write", b.identity.id)
        db_b = await open_on(b, db_a)
        await sync(db_a, db_b)
        assert b.identity.id in (await db_b.acl()).write
        await db_b.put("from-bob", {"age": 33})
        await sync(db_b, db_a)
        assert await db_a.get("from-bob") == {"age": 33, "bmi": None, "name": None, "sick": None}
        # A writer is not an admin: no grants, no schema changes.
        with pytest.raises(AccessDenied, match="does not hold admin"):
            await db_b.grant("write", "someone")
        with pytest.raises(AccessDenied, match="does not hold admin"):
            await db_b.add_columns(("extra", "str"))
        h = await _forge(db_b, grant_payload("admin", b.identity.id))
        with pytest.raises(AccessDenied, match=b.identity.id):
            await sync(db_b, db_a, heads=[h])
        assert not await db_a.log.has(h)


async def _fork_after_revoke(a: OrbitStore, b: OrbitStore) -> tuple[Dataset, Dataset, str, str]:
    """Bob writes, Alice revokes him (accepting what she saw), Bob — unaware — writes on a fork."""
    db_a = await create(a, write=[b.identity.id])
    await db_a.put("a1", {"age": 1})
    db_b = await open_on(b, db_a)
    await sync(db_a, db_b)
    await db_b.put("b1", {"age": 2})
    await sync(db_b, db_a)
    revoke = await db_a.revoke("write", b.identity.id)
    await db_a.put("a2", {"age": 3})
    await db_b.put("b2", {"age": 4})  # on a fork made before the revoke
    await db_b.delete("a1")
    fork = (await db_b.heads())[0].hash
    return db_a, db_b, revoke, fork


async def test_revoked_writer_fork_is_refused_when_the_revoke_is_known() -> None:
    async with peers("alice", "bob") as (a, b):
        db_a, db_b, _, fork = await _fork_after_revoke(a, b)
        with pytest.raises(AccessDenied, match=f"identity {b.identity.id} was revoked"):
            await sync(db_b, db_a)
        assert not await db_a.log.has(fork)
        assert [r.id for r in await db_a.all()] == ["a1", "b1", "a2"]
        with pytest.raises(AccessDenied):
            await db_b.revoke("write", a.identity.id)


async def test_revoked_writer_fork_is_excluded_when_the_revoke_comes_later() -> None:
    async with peers("alice", "bob", "carol") as (a, b, c):
        db_a, db_b, revoke, fork = await _fork_after_revoke(a, b)
        db_c = await open_on(c, db_a)
        await sync(db_b, db_c)  # Carol gets Bob's fork first: valid as far as she knows
        assert [r.id for r in await db_c.all()] == ["b1", "b2"]
        await sync(db_a, db_c)  # then Alice's revoke: the fork is cut off
        await sync(db_a, db_b)  # Bob learns of it too
        expected = await rows(db_a)
        assert [r.id for r in await db_a.all()] == ["a1", "b1", "a2"]
        for db in (db_b, db_c):
            assert await rows(db) == expected
            assert await db.log.has(fork)
            assert len(await db.excluded()) == 2
            assert b.identity.id not in (await db.acl()).write
        cids = {(await db.snapshot()).cid for db in (db_a, db_b, db_c)}
        assert len(cids) == 1  # every peer names the same version
        snap = await c.open_snapshot(cids.pop())
        assert snap.heads == tuple(h.hash for h in await db_a.heads()) and fork not in snap.heads
        assert revoke in [e.hash for e in await db_a.log.values()]
        await snap.verify()
        with pytest.raises(AccessDenied, match="does not hold write"):
            await db_b.put("b3", {"age": 5})


async def test_revoke_names_only_the_accepted_heads() -> None:
    async with peers("alice", "bob") as (a, b):
        db_a = await create(a, write=[b.identity.id])
        db_b = await open_on(b, db_a)
        await sync(db_a, db_b)
        await db_b.put("good", {"age": 1})
        good = (await db_b.heads())[0].hash
        await db_b.put("bad", {"age": 666})
        await sync(db_b, db_a)
        await db_a.revoke("write", b.identity.id, accept=[good])
        assert [r.id for r in await db_a.all()] == ["good"]
        with pytest.raises(DatabaseError, match="not written by"):
            await db_a.revoke("write", b.identity.id, accept=[(await db_a.heads())[0].hash])


async def test_revoked_admin_cannot_grant_on_a_fork() -> None:
    async with peers("alice", "bob", "carol") as (a, b, c):
        db_a = await create(a)
        await db_a.grant("admin", b.identity.id)
        db_b = await open_on(b, db_a)
        await sync(db_a, db_b)
        await db_a.revoke("admin", b.identity.id)
        await db_b.grant("write", c.identity.id)  # Bob, unaware, grants on his fork
        db_c = await open_on(c, db_a)
        await sync(db_b, db_c)
        await db_c.put("c1", {"age": 1})
        await sync(db_c, db_b)
        assert await db_b.count() == 1
        await sync(db_a, db_b)  # the revoke arrives: Bob's grant, and so Carol's write, are cut off
        assert await db_b.count() == 0
        assert c.identity.id not in (await db_b.acl()).write
        with pytest.raises(AccessDenied):
            await sync(db_c, db_a)


# -- any arrival order converges ----------------------------------------------------------------------

_SCENARIO: dict[str, object] = {}


async def _scenario() -> dict[str, object]:
    """Entries of a dataset with two writers, concurrent writes to one id, a revoke and a fork after it."""
    if _SCENARIO:
        return _SCENARIO
    async with peers("alice", "bob", "ref") as (a, b, ref):
        db_a, db_b, _, _ = await _fork_after_revoke(a, b)
        await db_b.put("a2", {"age": 40})  # concurrent with Alice's a2, cut off too
        blocks: dict[str, bytes] = {}
        for store in (a, b):
            async for key, value in store.blocks.items():
                blocks[key] = value
        entries = sorted({e.hash for db in (db_a, db_b) for e in await db.log.values()})
        db_ref = await open_on(ref, db_a)
        await sync(db_b, db_ref)
        await sync(db_a, db_ref)
        _SCENARIO.update(
            blocks=blocks,
            entries=entries,
            address=str(db_a.address),
            rows=await rows(db_ref),
            cid=(await db_ref.snapshot()).cid,
            manifests=[db_a.address.manifest_hash, db_a.access.address.split("/")[-1]],  # type: ignore[attr-defined]
        )
    return _SCENARIO


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.randoms(use_true_random=False))
async def test_any_arrival_order_gives_the_same_rows(rng: object) -> None:
    scenario = await _scenario()
    blocks: dict[str, bytes] = scenario["blocks"]  # type: ignore[assignment]
    entries: list[str] = list(scenario["entries"])  # type: ignore[call-overload]
    rng.shuffle(entries)  # type: ignore[attr-defined]

    async def fetch(key: str) -> bytes | None:
        return blocks.get(key)

    async with orbitstore.open(identity="peer") as store:
        for key in scenario["manifests"]:  # type: ignore[attr-defined]
            await store.blocks.put(key, blocks[key])
        db: Dataset = await store.open(str(scenario["address"]))
        from orbitstore.log import Entry

        for h in entries:
            with contextlib.suppress(AccessDenied):  # the revoke was known: the fork is refused
                await db.join_entry(Entry.decode(blocks[h]), fetch=fetch)
        assert await rows(db) == scenario["rows"]
        assert (await db.snapshot()).cid == scenario["cid"]
