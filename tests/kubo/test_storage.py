"""KuboStorage: the Storage contract over a real Kubo node, and what is special about Kubo."""

from __future__ import annotations

import pytest
from multiformats import CID

from orbitstore.errors import CIDError, StorageClosed, StorageError, StorageTimeout
from orbitstore.kubo import KuboClient, KuboNode, KuboSwarm
from orbitstore.storage.base import Storage
from orbitstore.storage.kubo import KuboStorage
from orbitstore.storage.memory import MemoryStorage
from tests.kubo._helpers import absent_cid, base32, cbor_block, cid_of

pytestmark = [pytest.mark.kubo, pytest.mark.asyncio(loop_scope="session")]


async def _pins(client: KuboClient, cid: str) -> list[str]:
    return [pin.cid for pin in await client.pin_ls() if pin.cid == cid]


async def test_is_a_storage(node: KuboNode) -> None:
    assert isinstance(KuboStorage(node.client), Storage)


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
        await storage.put(parent, parent_data)  # pinned recursively: the child is pinned indirectly
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
