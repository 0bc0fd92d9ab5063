"""Every kind of bad block is refused with a typed error and leaves the log unchanged."""

from __future__ import annotations

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orbitstore.codec import block_cid, decode, encode
from orbitstore.errors import DecodeError, IdentityError, LogError, NotFound, OrbitStoreError, SignatureError
from orbitstore.identities import Identities
from orbitstore.log import Entry, Log
from tests.log.helpers import new_log, users


async def setup() -> tuple[Identities, Log, Entry, Log]:
    ids, (a, b) = await users("userA", "userB")
    target = await new_log(ids, a)
    await target.append("mine")
    source = await new_log(ids, b)
    await source.append("theirs-1")
    good = await source.append("theirs-2")
    return ids, target, good, source


async def state(log: Log) -> tuple[list[str], list[str]]:
    return [e.hash for e in await log.values()], [h.hash for h in await log.heads()]


def rebuild(entry: Entry, **changes: object) -> bytes:
    value = decode(entry.bytes)
    value.update(changes)
    return encode(value)


async def assert_rejected(target: Log, source: Log, block: bytes, error: type[Exception]) -> None:
    before = await state(target)
    with pytest.raises(error):
        entry = Entry.decode(block)
        await target.join_entry(entry, fetch=source.entry_storage.get)
    assert await state(target) == before
    assert not await target.has(block_cid(block))


async def test_truncated_and_trailing_bytes() -> None:
    _, target, good, source = await setup()
    await assert_rejected(target, source, good.bytes[:-3], DecodeError)
    await assert_rejected(target, source, good.bytes + b"\x00", DecodeError)
    await assert_rejected(target, source, good.bytes[:1], DecodeError)


async def test_swapped_key_is_refused() -> None:
    ids, target, good, source = await setup()
    # Sign the same content with userA's key while still naming userB's identity (the JS gap).
    a = (await users("userA"))[1][0]
    forged = await Entry.create(ids, a, good.id, good.payload, clock=good.clock, next=good.next, refs=good.refs)
    block = rebuild(forged, identity=good.identity)
    await assert_rejected(target, source, block, SignatureError)


async def test_forged_signature() -> None:
    _, target, good, source = await setup()
    sig = good.sig[:-4] + ("0000" if good.sig[-4:] != "0000" else "1111")
    await assert_rejected(target, source, rebuild(good, sig=sig), SignatureError)
    await assert_rejected(target, source, rebuild(good, payload="tampered"), SignatureError)
    await assert_rejected(target, source, rebuild(good, sig="zz"), SignatureError)


async def test_wrong_log_id() -> None:
    ids, target, _, _ = await setup()
    b = (await users("userB"))[1][0]
    other = await Log.open(b, identities=ids, log_id="another-log")
    e = await other.append("elsewhere")
    await assert_rejected(target, other, e.bytes, LogError)


async def test_unknown_identity() -> None:
    _, target, good, source = await setup()
    strangers, (x,) = await users("userX")
    alien = await Log.open(x, identities=strangers, log_id=target.id)
    e = await alien.append("who am I")
    await assert_rejected(target, alien, e.bytes, IdentityError)


async def test_missing_history_is_refused() -> None:
    _, target, good, source = await setup()
    before = await state(target)

    async def nothing(_h: str) -> bytes | None:
        return None

    with pytest.raises(NotFound):
        await target.join_entry(good, fetch=nothing)
    assert await state(target) == before


async def test_bad_ancestor_rejects_the_whole_join() -> None:
    ids, target, good, source = await setup()
    parent_hash = good.next[0]
    parent = await source.get(parent_hash)
    assert parent is not None
    tampered = rebuild(parent, payload="evil")

    async def lying(h: str) -> bytes | None:
        return tampered if h == parent_hash else await source.entry_storage.get(h)

    before = await state(target)
    with pytest.raises(LogError):  # the block does not hash to the name it was asked for
        await target.join_entry(good, fetch=lying)
    assert await state(target) == before


async def test_fields_wrong() -> None:
    _, target, good, source = await setup()
    value = decode(good.bytes)
    for mutate in (
        lambda v: v.pop("sig"),
        lambda v: v.__setitem__("extra", 1),
        lambda v: v.__setitem__("v", 1),
        lambda v: v.__setitem__("next", "notalist"),
        lambda v: v.__setitem__("clock", {"id": v["key"], "time": -1}),
        lambda v: v.__setitem__("refs", [1]),
    ):
        broken = dict(value)
        mutate(broken)
        await assert_rejected(target, source, encode(broken), DecodeError)
    # valid CBOR but not canonical (keys out of order)
    await assert_rejected(target, source, cbor2.dumps(dict(sorted(value.items()))), DecodeError)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
async def test_random_bit_flips_never_get_in(data: st.DataObject) -> None:
    _, target, good, source = await setup()
    raw = bytearray(good.bytes)
    i = data.draw(st.integers(0, len(raw) - 1))
    raw[i] ^= 1 << data.draw(st.integers(0, 7))
    before = await state(target)
    with pytest.raises(OrbitStoreError):
        await target.join_entry(Entry.decode(bytes(raw)), fetch=source.entry_storage.get)
    assert await state(target) == before
