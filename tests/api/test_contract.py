"""The StoreAPI contract: the in-process API and the daemon's HTTP client behave the same."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from orbitstore.api import (
    AccessInfo,
    Change,
    DatabaseInfo,
    InvalidRequest,
    Item,
    NotAvailable,
    StoreAPI,
    Subscription,
    open_local,
)
from orbitstore.codec import CID
from orbitstore.errors import AccessDenied, DatabaseError, NotFound

MISSING = "zdpuAn26ookFToGNmpVHgEM71YMULiyS8mAs9UQtV1g6eEyRP"


async def test_implements_the_protocol(api: StoreAPI) -> None:
    assert isinstance(api, StoreAPI)
    node = await api.node()
    assert node.identity_id and node.public_key and node.identity_hash.startswith("zdpu")
    assert node.storage == "embedded"
    assert node.features["databases"] and node.features["access"] and node.features["events"]
    assert node.features["models"] and node.features["anchoring"] and node.features["dataset"]


async def test_events_add_get_iterate(api: StoreAPI) -> None:
    info = await api.create("log", type="events")
    assert isinstance(info, DatabaseInfo) and info.type == "events" and info.is_open
    assert info.address.startswith("/orbitdb/zdpu")
    hashes = [await api.add(info.address, {"n": i}) for i in range(25)]
    assert await api.heads(info.address) == [hashes[-1]]
    item = await api.get(info.address, hashes[3])
    assert item == Item(hash=hashes[3], key=None, value={"n": 3})
    seen: list[Item] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await api.iterate("log", limit=10, cursor=cursor)
        seen.extend(page.items)
        pages += 1
        cursor = page.cursor
        if cursor is None:
            break
    assert pages == 3
    assert [i.hash for i in seen] == hashes[::-1]
    assert [i.value["n"] for i in seen] == list(range(24, -1, -1))
    with pytest.raises(NotFound):
        await api.get("log", MISSING)


async def test_paging_is_stable_while_entries_arrive(api: StoreAPI) -> None:
    info = await api.create("busy", type="events")
    hashes = [await api.add(info.address, i) for i in range(6)]
    first = await api.iterate(info.address, limit=3)
    await api.add(info.address, "late")  # newer: belongs before the first page
    second = await api.iterate(info.address, limit=3, cursor=first.cursor)
    assert [i.hash for i in first.items + second.items] == hashes[::-1]
    assert second.cursor is None


async def test_keyvalue(api: StoreAPI) -> None:
    info = await api.create("settings", type="keyvalue")
    h = await api.put(info.address, "dark", key="theme")
    await api.put(info.address, 12, key="size")
    assert await api.get("settings", "theme") == Item(hash=h, key="theme", value="dark")
    h2 = await api.put(info.address, "light", key="theme")
    assert (await api.get("settings", "theme")).hash == h2
    page = await api.iterate("settings")
    assert [(i.key, i.value) for i in page.items] == [("theme", "light"), ("size", 12)]
    assert page.cursor is None
    deleted = await api.delete("settings", "theme")
    assert deleted.startswith("zdpu")
    with pytest.raises(NotFound):
        await api.get("settings", "theme")
    assert [i.key for i in (await api.iterate("settings")).items] == ["size"]
    assert await api.heads("settings") == [deleted]


async def test_keyvalue_offset_pages(api: StoreAPI) -> None:
    info = await api.create("many", type="keyvalue")
    for i in range(7):
        await api.put(info.address, i, key=f"k{i}")
    keys: list[str] = []
    cursor: str | None = None
    while True:
        page = await api.iterate(info.address, limit=3, cursor=cursor)
        keys += [i.key for i in page.items]
        if page.cursor is None:
            break
        cursor = page.cursor
    assert keys == [f"k{i}" for i in range(6, -1, -1)]


async def test_documents_and_query(api: StoreAPI) -> None:
    info = await api.create("people", type="documents", index_by="id")
    await api.put(info.address, {"id": "a", "city": "Oslo", "age": 30})
    await api.put(info.address, {"id": "b", "city": "Rome", "age": 41})
    await api.put(info.address, {"id": "c", "city": "Oslo", "age": 25}, key="c")
    found = await api.query("people", where={"city": "Oslo"})
    assert [i.key for i in found] == ["c", "a"]
    assert [i.key for i in await api.query("people", where={"city": "Oslo"}, limit=1)] == ["c"]
    assert await api.query("people", where={"city": "Oslo", "age": 30}) == [
        Item(hash=found[1].hash, key="a", value={"id": "a", "city": "Oslo", "age": 30})
    ]
    assert (await api.get("people", "b")).value["city"] == "Rome"
    await api.delete("people", "b")
    with pytest.raises(NotFound):
        await api.delete("people", "b")  # documents: deleting a missing document is an error, as in OrbitDB
    with pytest.raises(InvalidRequest):
        await api.put("people", {"_id": "x"})  # index is "id"
    with pytest.raises(InvalidRequest):
        await api.put("people", {"id": "x"}, key="y")


async def test_values_round_trip(api: StoreAPI) -> None:
    info = await api.create("values", type="events")
    link = CID.parse(MISSING)
    values = [
        None,
        True,
        0,
        -(2**63),
        2**64 - 1,
        1.5,
        "tekst ☃ — ünïcode",
        b"\x00\x01binary\xff",
        [1, [2, [3, b""]]],
        {"nested": {"map": [{"x": 1.25}], "bytes": b"ab"}, "link": link},
        {"/not-special": 1, "a": "/"},
    ]
    for value in values:
        h = await api.add(info.address, value)
        assert (await api.get(info.address, h)).value == value
    assert (await api.get(info.address, await api.add(info.address, 2.0))).value == 2  # integral floats are ints
    with pytest.raises(ValueError):
        await api.add(info.address, math.nan)
    assert len(await api.heads(info.address)) == 1


async def test_databases_lifecycle(api: StoreAPI) -> None:
    first = await api.create("shared", type="keyvalue", meta={"about": "test"})
    again = await api.create("shared", type="keyvalue", meta={"about": "test"})
    assert again.address == first.address and first.meta == {"about": "test"}
    other = await api.create("shared", type="events")
    assert other.address != first.address
    listed = await api.databases()
    assert [d.address for d in listed] == [first.address, other.address]
    assert all(d.is_open for d in listed)
    manifest = await api.manifest(first.address)
    assert manifest == {
        "name": "shared",
        "type": "keyvalue",
        "accessController": first.access_controller,
        "meta": {"about": "test"},
    }
    with pytest.raises(InvalidRequest):
        await api.info("shared")  # two databases are named "shared": use an address
    await api.close(first.address)
    assert not (await api.info(first.address)).is_open
    await api.close(first.address)  # closing a closed database does nothing
    reopened = await api.open(first.address.removeprefix("/orbitdb/"))  # a bare manifest hash works too
    assert reopened.is_open and reopened.address == first.address
    with pytest.raises(NotFound):
        await api.open("/orbitdb/" + MISSING)
    with pytest.raises(NotFound):
        await api.info("no-such-name")


async def test_subscribe_sees_changes_and_ends_on_close(api: StoreAPI) -> None:
    info = await api.create("live", type="keyvalue")
    async with await api.subscribe(info.address) as subscription:
        assert isinstance(subscription, Subscription)
        h = await api.put(info.address, {"v": 1}, key="k")
        change = await asyncio.wait_for(anext(aiter(subscription)), 5)
        assert isinstance(change, Change)
        assert change.kind == "update" and change.address == info.address
        assert [(e.hash, e.op, e.key, e.value) for e in change.entries] == [(h, "PUT", "k", {"v": 1})]
        node = await api.node()
        assert change.entries[0].writer == node.identity_hash and change.entries[0].clock_time == 1
        await api.close(info.address)
        rest = await asyncio.wait_for(_drain(subscription), 5)
        assert rest == []


async def _drain(subscription: Subscription) -> list[Change]:
    return [c async for c in subscription]


async def test_access_ipfs_is_immutable(api: StoreAPI) -> None:
    info = await api.create("fixed", type="events")
    node = await api.node()
    access = await api.access(info.address)
    assert access == AccessInfo(
        type="ipfs", address=info.access_controller, mutable=False, capabilities={"write": (node.identity_id,)}
    )
    with pytest.raises(DatabaseError):
        await api.grant(info.address, "write", "02" + "ab" * 32)


async def test_access_orbitdb_grant_revoke(api: StoreAPI) -> None:
    await api.create("team", type="keyvalue", access_controller={"type": "orbitdb"})
    node = await api.node()
    other = "03" + "cd" * 32
    assert (await api.access("team")).capabilities == {"admin": (node.identity_id,)}
    granted = await api.grant("team", "write", other)
    assert granted.mutable and granted.capabilities["write"] == (other,)
    revoked = await api.revoke("team", "write", other)
    assert "write" not in revoked.capabilities
    with pytest.raises(InvalidRequest):
        await api.grant("team", "", other)


async def test_write_denied_to_others(api: StoreAPI) -> None:
    info = await api.create("theirs", type="events", access_controller={"type": "ipfs", "write": ["02" + "ab" * 32]})
    with pytest.raises(AccessDenied):
        await api.add(info.address, "nope")
    assert await api.heads(info.address) == []


async def test_misuse_is_invalid_request(api: StoreAPI) -> None:
    events = await api.create("ev", type="events")
    kv = await api.create("kv", type="keyvalue")
    bad_calls = [
        api.create("x", type="nosuchtype"),
        api.create("", type="events"),
        api.create("x", type="events", access_controller={"type": "nosuch"}),
        api.create("x", type="events", access_controller={"write": "me"}),
        api.create("x", type="events", index_by="id"),
        api.create(events.address, type="events"),
        api.add(kv.address, 1),
        api.put(events.address, 1, key="k"),
        api.put(kv.address, 1),
        api.delete(events.address, "k"),
        api.iterate(events.address, limit=0),
        api.iterate(events.address, limit=10**9),
        api.iterate(events.address, cursor="garbage"),
        api.iterate(events.address, cursor="e:" + MISSING),
        api.query(kv.address, where={"a": 1}, limit=0),
    ]
    for call in bad_calls:
        with pytest.raises(InvalidRequest):
            await call
    assert await api.heads(events.address) == [] and await api.heads(kv.address) == []


async def test_unknown_database(api: StoreAPI) -> None:
    for call in (api.add("nope", 1), api.get("nope", "k"), api.iterate("nope"), api.access("nope")):
        with pytest.raises(NotFound):
            await call
    assert await api.databases() == []


async def test_sync_status_and_peers_of_a_lone_node(api: StoreAPI) -> None:
    node = await api.node()
    assert node.features["sync"] and node.sync_endpoint is not None and node.sync_endpoint.startswith("127.0.0.1:")
    info = await api.create("lonely", type="events")
    await api.add(info.address, "x")
    status = await api.sync_status(info.address)
    assert status.address == info.address and status.mode == "direct"
    assert (status.synced, status.peers, status.missing, status.pending, status.peer_ids) == (False, 0, 0, 0, ())
    assert await api.peers() == []
    with pytest.raises(NotFound):
        await api.sync_status("nope")


@pytest.mark.parametrize(
    ("part", "call"),
    [
        ("sync", lambda api, db: api.peers()),
        ("sync", lambda api, db: api.sync_status(db)),
    ],
)
async def test_a_node_without_sync_says_so(tmp_path: Path, part: str, call: object) -> None:
    async with open_local(tmp_path / "plain", identity="plain") as api:
        assert not (await api.node()).features["sync"] and (await api.node()).sync_endpoint is None
        info = await api.create("pending", type="events")
        with pytest.raises(NotAvailable) as caught:
            await call(api, info.address)  # type: ignore[operator]
        assert caught.value.part == part
        assert str(caught.value).startswith(f"not available yet: {part}")
