"""The direct path: what a client lacks, the TCP exchange, its limits and failures."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

import orbitstore
from orbitstore.codec import block_cid, encode
from orbitstore.databases.base import Database
from orbitstore.errors import ConfigError, DecodeError, SyncError
from orbitstore.log import Entry
from orbitstore.storage.base import put_many
from orbitstore.store import OrbitStore
from orbitstore.sync import DirectBlock, DirectDone, DirectNode, missing_entries, parse_endpoint
from orbitstore.sync.messages import frame

UNKNOWN = "zdpuAn26ookFToGNmpVHgEM71YMULiyS8mAs9UQtV1g6eEyRP"


@pytest_asyncio.fixture
async def pair() -> AsyncIterator[tuple[OrbitStore, OrbitStore, Database, Database]]:
    """Two in-memory stores with one events database both may write (B's opened from A's blocks)."""
    async with orbitstore.open(identity="a") as a, orbitstore.open(identity="b") as b:
        access = {"type": "ipfs", "write": [a.identity.id, b.identity.id]}
        db_a = await a.open("direct", type="events", access_controller=access)
        async for key, value in a.blocks.items():
            await b.blocks.put(key, value)
        db_b = await b.open(str(db_a.address))
        yield a, b, db_a, db_b


def fetch_from(store: OrbitStore):  # type: ignore[no-untyped-def]
    async def fetch(cid: str) -> bytes | None:
        return await store.blocks.get(cid)

    return fetch


def assert_parents_first(entries: list[Entry]) -> None:
    seen: set[str] = set()
    members = {e.hash for e in entries}
    for e in entries:
        assert all(p in seen for p in (*e.next, *e.refs) if p in members)
        seen.add(e.hash)


# -- what a client lacks ---------------------------------------------------------------------------


async def test_missing_entries(pair: tuple[OrbitStore, OrbitStore, Database, Database]) -> None:
    a, b, db_a, db_b = pair
    hashes = [await db_a.add(i) for i in range(40)]  # type: ignore[attr-defined]
    everything = await missing_entries(db_a.log, [])
    assert sorted(e.hash for e in everything) == sorted(hashes)
    assert_parents_first(everything)
    after_10 = await missing_entries(db_a.log, [hashes[9]])
    assert [e.hash for e in after_10] == hashes[10:]
    assert await missing_entries(db_a.log, [hashes[-1]]) == []
    assert len(await missing_entries(db_a.log, [UNKNOWN])) == 40  # heads it does not hold are ignored
    assert [e.hash for e in await missing_entries(db_a.log, [UNKNOWN, hashes[30]])] == hashes[31:]


async def test_missing_entries_with_forks(pair: tuple[OrbitStore, OrbitStore, Database, Database]) -> None:
    a, b, db_a, db_b = pair
    for i in range(3):
        await db_a.add(f"a{i}")  # type: ignore[attr-defined]
    (head,) = await db_a.heads()
    await db_b.join_entry(head, fetch=fetch_from(a))
    mine = [await db_a.add(f"a-fork{i}") for i in range(2)]  # type: ignore[attr-defined]
    theirs = [await db_b.add(f"b-fork{i}") for i in range(2)]  # type: ignore[attr-defined]
    (b_head,) = await db_b.heads()
    await db_a.join_entry(b_head, fetch=fetch_from(b))
    assert len(await db_a.heads()) == 2
    lacking = await missing_entries(db_a.log, [b_head.hash])
    assert [e.hash for e in lacking] == mine
    assert_parents_first(await missing_entries(db_a.log, []))
    assert {e.hash for e in await missing_entries(db_a.log, [head.hash])} == {*mine, *theirs}


# -- the exchange ----------------------------------------------------------------------------------


async def test_exchange_streams_identity_then_entries_then_done(
    pair: tuple[OrbitStore, OrbitStore, Database, Database],
) -> None:
    a, b, db_a, db_b = pair
    hashes = [await db_a.add(i) for i in range(25)]  # type: ignore[attr-defined]
    async with DirectNode() as server, DirectNode(listen=False) as client:
        assert client.endpoint is None and server.endpoint is not None
        stop = server.serve(db_a.log)
        items = []
        async with client.exchange(server.endpoint, address=str(db_a.address), heads=[hashes[4]]) as stream:
            items = [item async for item in stream]
        first, *entries, done = items
        assert isinstance(first, DirectBlock) and first.cid == a.identity.hash
        assert [e.cid for e in entries] == hashes[5:]
        for item in entries:
            entry = await db_a.log.get(item.cid)  # type: ignore[union-attr]
            assert isinstance(item, DirectBlock) and entry is not None and item.data == entry.bytes
        assert done == DirectDone((hashes[-1],), 21)
        assert server.stats().served == 1 and server.stats().blocks_sent == 21
        assert client.stats().exchanges == 1 and client.stats().blocks_received == 21
        stop()
        with pytest.raises(ConnectionRefusedError, match="not served"):
            async with client.exchange(server.endpoint, address=str(db_a.address), heads=[]) as stream:
                [item async for item in stream]
        assert server.stats().refused == 1
    await server.aclose()  # idempotent


async def test_endpoints_and_allowed_hosts() -> None:
    assert parse_endpoint("127.0.0.1:4001") == ("127.0.0.1", 4001)
    assert parse_endpoint("[::1]:80") == ("::1", 80)
    for bad in ("127.0.0.1", "host:0", "host:99999", ":80", "host:x"):
        with pytest.raises(ConfigError):
            parse_endpoint(bad)
    async with DirectNode(listen=False) as client:
        with pytest.raises(ConfigError, match="allowed_hosts"):
            async with client.exchange("10.1.2.3:4001", address="/orbitdb/x", heads=[]):
                pass


async def fake_server(reply: bytes) -> tuple[asyncio.Server, str]:
    """A server that reads the request frame, then writes ``reply`` and closes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        size = struct.unpack(">I", await reader.readexactly(4))[0]
        await reader.readexactly(size)
        writer.write(reply)
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"127.0.0.1:{server.sockets[0].getsockname()[1]}"


@pytest.mark.parametrize(
    ("reply", "error", "counter"),
    [
        (struct.pack(">I", 4096 + 1) + b"x" * 10, SyncError, "oversized_frames"),  # over max_frame
        (frame(encode({"v": 1, "type": "block", "cid": UNKNOWN, "data": ""})), DecodeError, "malformed_frames"),
        (frame(b"\xff"), DecodeError, "malformed_frames"),
        (b"\x00\x00", ConnectionError, None),  # cut inside a header
        (frame(encode({"v": 1, "type": "block", "cid": UNKNOWN, "data": b"x"})), ConnectionError, None),  # no done
    ],
)
async def test_client_rejects_what_a_bad_server_sends(
    reply: bytes, error: type[Exception], counter: str | None
) -> None:
    server, endpoint = await fake_server(reply)
    try:
        async with DirectNode(listen=False, max_frame=4096) as client:
            with pytest.raises(error):
                async with client.exchange(endpoint, address="/orbitdb/x", heads=[]) as stream:
                    [item async for item in stream]
            if counter is not None:
                assert getattr(client.stats(), counter) == 1
    finally:
        server.close()
        await server.wait_closed()


async def test_server_drops_bad_clients(pair: tuple[OrbitStore, OrbitStore, Database, Database]) -> None:
    *_, db_a, _ = pair
    await db_a.add("x")  # type: ignore[attr-defined]
    async with DirectNode(max_frame=4096, read_timeout=0.2) as server:
        server.serve(db_a.log)
        host, port = parse_endpoint(server.endpoint or "")
        for request in (struct.pack(">I", 1 << 30), frame(b"\xa0"), b""):  # oversized, malformed, silent
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(request)
            await writer.drain()
            answer = await reader.read()  # the server answers (or not) and closes
            writer.close()
            await writer.wait_closed()
            if request == frame(b"\xa0"):
                assert b"malformed request" in answer
            else:
                assert answer == b""
        stats = server.stats()
        assert stats.oversized_frames == 1 and stats.malformed_frames == 1
        assert stats.dropped_connections == 2 and stats.refused == 1  # oversized and silent; malformed refused


async def test_closing_ends_connections_in_progress(pair: tuple[OrbitStore, OrbitStore, Database, Database]) -> None:
    *_, db_a, _ = pair
    server = DirectNode()
    await server.start()
    host, port = parse_endpoint(server.endpoint or "")
    reader, writer = await asyncio.open_connection(host, port)  # connected, says nothing
    await asyncio.sleep(0.05)
    await asyncio.wait_for(server.aclose(), 5)
    assert await reader.read() == b""
    writer.close()
    await writer.wait_closed()
    with pytest.raises(SyncError):
        await server.start()


async def test_missing_entries_are_parents_first_even_with_odd_clocks() -> None:
    from orbitstore.identities import Identities
    from orbitstore.log import Clock, Log

    identities = await Identities.open()
    me = await identities.create_identity("odd")
    log = await Log.open(me, identities=identities, log_id="odd-clocks")
    blocks: dict[str, bytes] = {me.hash: me.bytes}
    parent = await Entry.create(identities, me, "odd-clocks", "old but late", clock=Clock(me.public_key, 9))
    child = await Entry.create(
        identities, me, "odd-clocks", "new but early", clock=Clock(me.public_key, 2), next=[parent.hash]
    )
    grandchild = await Entry.create(
        identities, me, "odd-clocks", "newest", clock=Clock(me.public_key, 3), next=[child.hash], refs=[parent.hash]
    )
    for e in (parent, child, grandchild):
        blocks[e.hash] = e.bytes

    async def fetch(cid: str) -> bytes | None:
        return blocks.get(cid)

    await log.join_entry(grandchild, fetch=fetch)
    assert [e.hash for e in await missing_entries(log, [])] == [parent.hash, child.hash, grandchild.hash]
    # With clocks that go backwards the walk may send an entry the client has (never miss one it lacks).
    assert [e.hash for e in await missing_entries(log, [child.hash])] == [parent.hash, grandchild.hash]


# -- setup: what opening a database by address needs -----------------------------------------------


async def test_fetch_setup_brings_the_manifest_and_access_controller() -> None:
    async with orbitstore.open(identity="a") as a, orbitstore.open(identity="b") as b:
        for kind, access in (("events", {"type": "ipfs"}), ("dataset", {"type": "dataset"})):
            db_a = await a.open(f"setup-{kind}", type=kind, access_controller=access)
            async with DirectNode() as server, DirectNode(listen=False) as client:
                server.serve(db_a.log)
                assert server.endpoint is not None
                blocks = await client.fetch_setup(server.endpoint, address=str(db_a.address))
                ac = db_a.manifest.access_controller.split("/")[-1]
                assert set(blocks) == {db_a.address.manifest_hash, ac}
                assert server.stats().served == 1 and server.stats().blocks_sent == 2
                with pytest.raises(ConnectionRefusedError, match="not served"):
                    await client.fetch_setup(server.endpoint, address=f"/orbitdb/{UNKNOWN}")
            await put_many(b.blocks, blocks.items())
            db_b = await b.open(str(db_a.address))
            assert db_b.type == kind and db_b.manifest == db_a.manifest


async def test_fetch_setup_refuses_what_opening_does_not_need() -> None:
    manifest = encode({"accessController": f"/ipfs/{UNKNOWN}", "name": "x", "type": "events"})
    address = f"/orbitdb/{block_cid(manifest)}"
    other = encode({"something": "else"})
    done = frame(encode({"v": 1, "type": "done", "heads": [], "blocks": 1}))

    def block(cid: str, data: bytes) -> bytes:
        return frame(encode({"v": 1, "type": "block", "cid": cid, "data": data}))

    cases = [
        (block(block_cid(other), other) + done, "not one that opening"),  # an unrelated block
        (block(block_cid(manifest), manifest + b" ") + done, "does not hash"),  # bytes that are not its CID's
        (done, "did not send the manifest"),
        (block(block_cid(manifest), manifest) * 5 + done, "more than 4 blocks"),
    ]
    for reply, message in cases:
        server, endpoint = await fake_server(reply)
        try:
            async with DirectNode(listen=False) as client:
                with pytest.raises(SyncError, match=message):
                    await client.fetch_setup(endpoint, address=address)
        finally:
            server.close()
            await server.wait_closed()
