"""KuboStorage: the Storage contract over a real Kubo node, and what is special about Kubo."""

from __future__ import annotations

import pytest
from multiformats import CID

from orbitstore.errors import CIDError, NotFound, StorageClosed, StorageError, StorageTimeout
from orbitstore.kubo import KuboClient, KuboNode, KuboSwarm
from orbitstore.storage.base import BulkStorage, Storage, put_many
from orbitstore.storage.kubo import BATCH_MIN, KuboStorage
from orbitstore.storage.memory import MemoryStorage
from tests.kubo._helpers import absent_cid, base32, cbor_block, cid_of

pytestmark = [pytest.mark.kubo, pytest.mark.asyncio(loop_scope="session")]


async def _pins(client: KuboClient, cid: str) -> list[str]:
    return [pin.cid for pin in await client.pin_ls() if pin.cid == cid]


async def test_is_a_storage(node: KuboNode) -> None:
    assert isinstance(KuboStorage(node.client), Storage)
    assert isinstance(KuboStorage(node.client), BulkStorage)


async def test_put_get_delete(node: KuboNode) -> None:
    async with KuboStorage(node.client, offline=True) as storage:
        cid, data = cbor_block(kind="contract")
        assert await storage.get(cid) is None
        await storage.put(cid, data)
        assert await storage.get(cid) == data
        assert await _pins(node.client, cid) == [cid]  # pinned by default
        await storage.put(cid, data)  # putting again is fine
        await storage.delete(cid)
        assert await storage.get(cid) is None
        assert await _pins(node.client, cid) == []
        await storage.delete(cid)  # deleting a missing key is not an error
        await storage.sync()


async def test_put_accepts_base32_keys(node: KuboNode) -> None:
    async with KuboStorage(node.client, offline=True) as storage:
        cid, data = cbor_block(kind="base32")
        await storage.put(base32(cid), data)
        assert await storage.get(cid) == data


async def test_put_raw_codec_key(node: KuboNode) -> None:
    async with KuboStorage(node.client, offline=True) as storage:
        data = b"\x00raw\xff"
        await storage.put(cid_of(data, "raw"), data)
        assert await storage.get(cid_of(data, "raw")) == data


async def test_put_with_a_wrong_key_is_refused(node: KuboNode) -> None:
    async with KuboStorage(node.client, offline=True) as storage:
        key, _ = cbor_block(kind="key")
        _, other = cbor_block(kind="other bytes")
        with pytest.raises(StorageError, match="bytes and key differ"):
            await storage.put(key, other)
        with pytest.raises(CIDError):
            await storage.put("heads", b"not a CID key")
        with pytest.raises(CIDError, match="codec"):
            await storage.put(cid_of(b"x", "dag-pb"), b"x")


async def test_pin_false_does_not_pin(node: KuboNode) -> None:
    async with KuboStorage(node.client, pin=False, offline=True) as storage:
        cid, data = cbor_block(kind="unpinned")
        await storage.put(cid, data)
        assert await storage.get(cid) == data
        assert await _pins(node.client, cid) == []


async def test_items_merge_clear(node: KuboNode) -> None:
    async with KuboStorage(node.client, offline=True) as storage:
        source = MemoryStorage()
        blocks = dict(cbor_block(kind="merge", i=i) for i in range(3))
        for cid, data in blocks.items():
            await source.put(cid, data)
        await storage.merge(source)
        assert {cid: data async for cid, data in storage.items()} == blocks
        await storage.clear()
        assert [pair async for pair in storage.items()] == []
        for cid in blocks:
            assert await storage.get(cid) is None


async def test_delete_keeps_a_block_another_pin_holds(node: KuboNode) -> None:
    async with KuboStorage(node.client, offline=True) as storage:
        child, child_data = cbor_block(kind="child")
        parent, parent_data = cbor_block(kind="parent", link=CID.decode(child))  # an IPLD link (tag 42)
        await storage.put(child, child_data)
        await node.client.block_put(parent_data, pin=True)  # someone else's recursive pin holds the child
        await storage.delete(child)  # drops the child's own pin only
        assert await storage.get(child) == child_data
        assert [p.type.split()[0] for p in await node.client.pin_ls(child)] == ["indirect"]  # "indirect through …"
        await storage.delete(parent)
        await storage.delete(child)
        assert await storage.get(child) is None


async def test_get_fetches_from_peers_and_times_out(swarm: KuboSwarm) -> None:
    a, b = swarm
    cid, data = cbor_block(kind="storage bitswap")
    await KuboStorage(a.client).put(cid, data)
    storage = KuboStorage(b.client, timeout=0.5)
    assert await storage.get(cid) == data
    with pytest.raises(StorageTimeout):
        await storage.get(absent_cid())
    await storage.aclose()


async def test_closed_storage(node: KuboNode) -> None:
    storage = KuboStorage(node.client)
    await storage.aclose()
    await storage.aclose()
    assert storage.closed
    cid, data = cbor_block(kind="closed")
    with pytest.raises(StorageClosed):
        await storage.put(cid, data)
    with pytest.raises(StorageClosed):
        await storage.get(cid)
    assert not node.client.closed  # borrowed client stays open


async def test_owned_client_is_closed(node: KuboNode) -> None:
    client = KuboClient(node.api_url)
    storage = KuboStorage(client, owns_client=True)
    await storage.aclose()
    assert client.closed


# -- many blocks at once: pin batches ----------------------------------------------------------------


async def _direct_and_recursive(client: KuboClient) -> dict[str, str]:
    """Direct and recursive pins of dag-cbor blocks (not the empty UnixFS directory ``ipfs init`` pins)."""
    pins = await client.pin_ls(type="recursive") + await client.pin_ls(type="direct")
    return {p.cid: p.type for p in pins if p.cid.startswith("zdpu")}


async def test_put_many_pins_every_block_with_one_batch(node: KuboNode) -> None:
    async with KuboStorage(node.client, offline=True) as storage:
        blocks = dict(cbor_block(kind="batch", i=i) for i in range(BATCH_MIN + 4))
        before = await _direct_and_recursive(node.client)
        assert await storage.put_many(blocks.items()) == len(blocks)
        added = {cid: kind for cid, kind in (await _direct_and_recursive(node.client)).items() if cid not in before}
        assert list(added.values()) == ["recursive"]  # one pin: the batch root, not one per block
        for cid in blocks:  # linked by raw CIDs of their multihash: Kubo's pin commands match whole CIDs
            with pytest.raises(NotFound):
                await node.client.pin_ls(cid)
        assert {cid: data async for cid, data in storage.items()} == blocks  # members listed, index blocks not
        assert await node.client.repo_gc() == []  # GC matches multihashes: the batch keeps every member (#1163)
        for cid, data in blocks.items():
            assert await storage.get(cid) == data


async def test_a_batch_does_not_hold_or_fetch_what_its_members_link_to(node: KuboNode) -> None:
    """Entries linking to records share a batch with them; erasing a record still removes it for good."""
    async with KuboStorage(node.client, offline=True) as storage:
        record, record_data = cbor_block(kind="record")
        missing = absent_cid()  # e.g. a record the sending peer erased: nobody has it
        entries = dict(cbor_block(kind="entry", i=i, link=CID.decode(record)) for i in range(BATCH_MIN))
        entries.update([cbor_block(kind="entry", link=CID.decode(missing))])
        await storage.put_many([(record, record_data), *entries.items()])  # no fetch of `missing`: no stall
        assert list((await _direct_and_recursive(node.client)).values()) == ["recursive"]
        await storage.delete(record)  # erasure: the entries naming it do not keep it
        assert await storage.get(record) is None
        await node.client.repo_gc()
        for cid, data in entries.items():
            assert await storage.get(cid) == data
        await storage.put(record, record_data)  # stored again later: held by its own pin only
        await storage.delete(record)
        assert await storage.get(record) is None


async def test_put_many_below_batch_size_pins_each_block(node: KuboNode) -> None:
    async with KuboStorage(node.client, offline=True) as storage:
        blocks = dict(cbor_block(kind="few", i=i) for i in range(3))
        await storage.put_many(blocks.items())
        pins = await _direct_and_recursive(node.client)
        assert all(pins[cid] == "direct" for cid in blocks)
        assert await storage.put_many([]) == 0


async def test_put_many_checks_every_key_before_storing_anything(node: KuboNode) -> None:
    async with KuboStorage(node.client, offline=True) as storage:
        good = [cbor_block(kind="good", i=i) for i in range(BATCH_MIN)]
        wrong_key, _ = cbor_block(kind="key")
        _, other = cbor_block(kind="other bytes")
        with pytest.raises(StorageError, match="bytes and key differ"):
            await storage.put_many([*good, (wrong_key, other)])
        for cid, _ in good:
            assert await storage.get(cid) is None
        with pytest.raises(CIDError, match="codec"):
            await storage.put_many([(cid_of(b"x", "dag-pb"), b"x")])


async def test_delete_takes_a_member_out_of_its_batch(node: KuboNode) -> None:
    async with KuboStorage(node.client, offline=True) as storage:
        blocks = dict(cbor_block(kind="member", i=i) for i in range(BATCH_MIN * 2))
        await storage.put_many(blocks.items())
        (old_root,) = [c for c, t in (await _direct_and_recursive(node.client)).items() if t == "recursive"]
        gone, *kept = sorted(blocks)
        await storage.delete(gone)
        assert await storage.get(gone) is None
        (new_root,) = [c for c, t in (await _direct_and_recursive(node.client)).items() if t == "recursive"]
        assert new_root != old_root
        assert await storage.get(old_root) is None  # the old index block is dropped too
        await node.client.repo_gc()
        assert {cid: data async for cid, data in storage.items()} == {c: blocks[c] for c in kept}


async def test_delete_of_a_block_in_two_batches(node: KuboNode) -> None:
    async with KuboStorage(node.client, offline=True) as storage:
        shared, shared_data = cbor_block(kind="shared")
        first = [cbor_block(kind="first", i=i) for i in range(BATCH_MIN)]
        second = [cbor_block(kind="second", i=i) for i in range(BATCH_MIN)]
        await storage.put_many([(shared, shared_data), *first])
        await storage.put_many([(shared, shared_data), *second])
        await storage.put(shared, shared_data)  # and a pin of its own
        await storage.delete(shared)
        assert await storage.get(shared) is None
        assert len([pair async for pair in storage.items()]) == 2 * BATCH_MIN


async def test_delete_of_the_last_member_drops_the_batch(node: KuboNode) -> None:
    async with KuboStorage(node.client, offline=True) as storage:
        blocks = dict(cbor_block(kind="last", i=i) for i in range(BATCH_MIN))
        await storage.put_many(blocks.items())
        for cid in blocks:
            await storage.delete(cid)
        assert [pair async for pair in storage.items()] == []
        assert not [t for t in (await _direct_and_recursive(node.client)).values() if t == "recursive"]


async def test_clear_drops_batches_and_their_members(node: KuboNode) -> None:
    async with KuboStorage(node.client, offline=True) as storage:
        blocks = dict(cbor_block(kind="clear", i=i) for i in range(BATCH_MIN))
        await storage.put_many(blocks.items())
        single, single_data = cbor_block(kind="single")
        await storage.put(single, single_data)
        await storage.clear()
        assert [pair async for pair in storage.items()] == []
        for cid in [*blocks, single]:
            assert await storage.get(cid) is None


async def test_merge_uses_batches(node: KuboNode) -> None:
    async with KuboStorage(node.client, offline=True) as storage:
        source = MemoryStorage()
        blocks = dict(cbor_block(kind="merge many", i=i) for i in range(BATCH_MIN))
        await put_many(source, blocks.items())
        await storage.merge(source)
        pins = await _direct_and_recursive(node.client)
        assert not set(blocks) & set(pins)  # held by one batch, not pinned one by one
        assert {cid: data async for cid, data in storage.items()} == blocks


async def test_delete_many_removes_own_pins_and_batch_members_with_one_block_rm(node: KuboNode) -> None:
    async with KuboStorage(node.client, offline=True) as storage:
        batched = dict(cbor_block(kind="many batched", i=i) for i in range(BATCH_MIN + 2))
        single, single_data = cbor_block(kind="many single")
        await storage.put_many(batched.items())
        await storage.put(single, single_data)
        gone = [single, *sorted(batched)[:3]]
        assert await storage.delete_many([*gone, absent_cid()]) == 5  # a missing key counts as removed
        for cid in gone:
            assert await storage.get(cid) is None
        assert {cid async for cid, _ in storage.items()} == set(sorted(batched)[3:])
        assert await storage.delete_many([]) == 0


async def test_a_batch_another_storage_made_is_found_when_deleting(node: KuboNode) -> None:
    """The batches are scanned once; one made by another storage on the node later is found on a miss."""
    async with KuboStorage(node.client, offline=True) as first, KuboStorage(node.client, offline=True) as second:
        assert [pair async for pair in first.items()] == []  # first has scanned: no batches yet
        blocks = dict(cbor_block(kind="other storage", i=i) for i in range(BATCH_MIN))
        await second.put_many(blocks.items())
        gone = sorted(blocks)[0]
        await first.delete(gone)
        assert await first.get(gone) is None
        assert {cid async for cid, _ in first.items()} == set(sorted(blocks)[1:])


async def test_put_pins_a_linking_block_directly(node: KuboNode) -> None:
    async with KuboStorage(node.client, offline=True) as storage:
        child, child_data = cbor_block(kind="erased child")
        parent, parent_data = cbor_block(kind="linking parent", link=CID.decode(child))
        await storage.put(child, child_data)
        await storage.put(parent, parent_data)
        assert (await _direct_and_recursive(node.client))[parent] == "direct"
        await storage.delete(child)  # the parent does not keep the child alive
        assert await storage.get(child) is None
        assert await storage.get(parent) == parent_data
