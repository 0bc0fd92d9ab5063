"""Record sealing, key envelopes and reader keys: nonces, associated data, tampering."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from orbitstore.codec import decode, encode
from orbitstore.encryption.envelope import Envelope, open_envelope, public_bytes, seal_envelope
from orbitstore.encryption.reader_key import ReaderKey, reader_private_key
from orbitstore.encryption.records import SealedRecord, seal_row
from orbitstore.encryption.sealing import RecordSealer, combine_keys, new_epoch_key, record_context
from orbitstore.errors import (
    ConfigError,
    DecodeError,
    EncryptionError,
    IdentityError,
    NotAuthorizedToRead,
    SignatureError,
)
from orbitstore.identities import Identities
from tests.databases.test_dataset import peers
from tests.encryption.helpers import blocks_of, create_encrypted

ADDRESS = "/orbitdb/zdpuAn26ookFToGNmpVHgEM71YMULiyS8mAs9UQtV1g6eEyRP"
EPOCHS = ("zdpuAsKzwUEa8cz9pkJxxFMxLuP3cutA9PDGoLZytrg4RSVEa",)

rows = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.text(max_size=20), st.booleans()),
    max_size=4,
)
records = st.lists(st.tuples(st.sampled_from(["a", "b", "same"]), rows), min_size=1, max_size=60)


@settings(max_examples=60, deadline=None)
@given(records)
def test_nonces_never_repeat_under_one_key(items: list[tuple[str, dict[str, object]]]) -> None:
    """Even for identical records, every seal under one key draws a new nonce (and gives a new block)."""
    sealer = RecordSealer(new_epoch_key())
    nonces, cids = set(), set()
    for record_id, row in items:
        key, _, block = seal_row(sealer, address=ADDRESS, record_id=record_id, epochs=EPOCHS, wire_row=encode_row(row))
        sealed = SealedRecord.decode(block)
        assert sealed.nonce not in nonces
        nonces.add(sealed.nonce)
        cids.add(key)
        assert sealed.open(sealer, address=ADDRESS) == decode(encode(row))
    assert len(nonces) == len(cids) == len(items)


def encode_row(row: dict[str, object]) -> dict[str, object]:
    value = decode(encode(row))
    assert isinstance(value, dict)
    return value


async def test_nonces_of_a_dataset_import_are_all_distinct() -> None:
    async with peers("alice") as (a,):
        db = await create_encrypted(a)
        await db.put_many([{"age": 1} for _ in range(500)], batch_size=100)  # 500 identical rows
        nonces = [SealedRecord.from_value(decode(b)).nonce for b in (await blocks_of(a)).values() if _sealed(b)]
        assert len(nonces) == 500 == len(set(nonces))


def _sealed(block: bytes) -> bool:
    value = decode(block)
    return isinstance(value, dict) and "sealed" in value


def test_wrong_associated_data_is_rejected() -> None:
    sealer = RecordSealer(new_epoch_key())
    _, _, block = seal_row(sealer, address=ADDRESS, record_id="p1", epochs=EPOCHS, wire_row={"x": 1})
    sealed = SealedRecord.decode(block)
    assert sealed.open(sealer, address=ADDRESS) == {"x": 1}
    with pytest.raises(EncryptionError, match="associated data"):
        sealed.open(sealer, address="/orbitdb/zdpuOther")  # another dataset
    moved = SealedRecord("p2", sealed.epochs, sealed.nonce, sealed.sealed)
    with pytest.raises(EncryptionError, match="associated data"):
        moved.open(sealer, address=ADDRESS)  # another record id
    relabelled = SealedRecord(sealed.id, ("zdpuAother",), sealed.nonce, sealed.sealed)
    with pytest.raises(EncryptionError):
        relabelled.open(sealer, address=ADDRESS)  # other epochs
    nonce = bytes([sealed.nonce[0] ^ 1]) + sealed.nonce[1:]
    with pytest.raises(EncryptionError):
        SealedRecord(sealed.id, sealed.epochs, nonce, sealed.sealed).open(sealer, address=ADDRESS)
    for i in range(len(sealed.sealed)):
        bad = bytearray(sealed.sealed)
        bad[i] ^= 0x80
        with pytest.raises(EncryptionError):
            SealedRecord(sealed.id, sealed.epochs, sealed.nonce, bytes(bad)).open(sealer, address=ADDRESS)
    with pytest.raises(EncryptionError):
        sealed.open(RecordSealer(new_epoch_key()), address=ADDRESS)  # another key
    assert record_context(ADDRESS, "p1", EPOCHS) != record_context(ADDRESS, "p1", ())


def test_sealed_block_shape_is_checked() -> None:
    sealer = RecordSealer(new_epoch_key())
    _, link, block = seal_row(sealer, address=ADDRESS, record_id="p1", epochs=EPOCHS, wire_row={"x": 1})
    assert encode(decode(block)) == block  # canonical DAG-CBOR
    SealedRecord.decode(block, link=link)
    _, same_row_again, _ = seal_row(sealer, address=ADDRESS, record_id="p1", epochs=EPOCHS, wire_row={"x": 1})
    with pytest.raises(DecodeError, match="does not hash"):
        SealedRecord.decode(block, link=same_row_again)  # a fresh nonce: another block, another CID
    value = decode(block)
    for field, bad in (("epochs", []), ("epochs", ["b", "a"]), ("nonce", b"short"), ("id", ""), ("v", 2)):
        with pytest.raises(DecodeError):
            SealedRecord.from_value({**value, field: bad})
    with pytest.raises(DecodeError):
        SealedRecord.from_value({"v": 1, "id": "x", "row": {}})


def test_combined_keys_need_every_epoch_key() -> None:
    k1, k2 = new_epoch_key(), new_epoch_key()
    both = combine_keys([("e2", k2), ("e1", k1)])
    assert both == combine_keys([("e1", k1), ("e2", k2)]) != k1
    assert both != combine_keys([("e1", k1), ("e2", new_epoch_key())])
    assert combine_keys([("e1", k1)]) == k1
    with pytest.raises(ConfigError):
        combine_keys([])
    with pytest.raises(ConfigError):
        RecordSealer(b"short")


def test_envelopes_open_only_for_their_reader_dataset_and_epoch() -> None:
    reader, other = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    key = new_epoch_key()
    env = seal_envelope(key, recipient=public_bytes(reader), to="bob", epoch=None, address=ADDRESS)
    assert Envelope.from_wire(env.to_wire()) == env
    assert encode(env.to_wire()) == encode(decode(encode(env.to_wire())))
    assert open_envelope(env, reader, address=ADDRESS) == key
    with pytest.raises(EncryptionError, match="does not open"):
        open_envelope(env, other, address=ADDRESS)
    with pytest.raises(EncryptionError):
        open_envelope(env, reader, address="/orbitdb/zdpuElsewhere")
    for changed in (
        Envelope("carol", None, env.eph, env.nonce, env.box),
        Envelope("bob", "zdpuX", env.eph, env.nonce, env.box),
    ):
        with pytest.raises(EncryptionError):
            open_envelope(changed, reader, address=ADDRESS)
    with pytest.raises(DecodeError):
        Envelope.from_wire({**env.to_wire(), "box": b"short"})
    with pytest.raises(EncryptionError, match="X25519"):
        seal_envelope(key, recipient=b"\x00" * 5, to="bob", epoch=None, address=ADDRESS)


async def test_reader_key_is_signed_by_its_identity_and_kept_in_the_keystore() -> None:
    ids = await Identities.open()
    bob = await ids.create_identity("bob")
    carol = await ids.create_identity("carol")
    key = await ReaderKey.create(ids, bob)
    assert key == await ReaderKey.create(ids, bob)  # deterministic: the same block, the same CID
    assert key.key == public_bytes(await reader_private_key(ids.keystore, bob))
    await ReaderKey.decode(key.bytes, expected_cid=key.cid).verify(ids)
    value = decode(key.bytes)
    forged = ReaderKey.decode(encode({**value, "id": carol.id}))
    with pytest.raises(IdentityError, match="claims id"):
        await forged.verify(ids)
    swapped = ReaderKey.decode(encode({**value, "key": public_bytes(X25519PrivateKey.generate())}))
    with pytest.raises(SignatureError):
        await swapped.verify(ids)
    with pytest.raises(DecodeError):
        ReaderKey.decode(key.bytes, expected_cid="zdpuAn26ookFToGNmpVHgEM71YMULiyS8mAs9UQtV1g6eEyRP")


async def test_a_relay_has_no_key_to_use() -> None:
    from orbitstore.databases.dataset.acl import AclState, CausalAcl
    from orbitstore.encryption.access import ReadAccess

    access = ReadAccess(address=ADDRESS, identity_id="relay", private_key=None, acl=CausalAcl(AclState()))
    with pytest.raises(NotAuthorizedToRead, match="no key epoch yet"):
        access.sealer(())
    with pytest.raises(NotAuthorizedToRead, match="holds no key"):
        access.sealer(EPOCHS)
