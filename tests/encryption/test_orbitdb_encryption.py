"""OrbitDB's ``encryption={"data", "replication"}`` option: where each layer applies; the simple-encryption layout."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import orbitstore
from orbitstore.codec import block_cid, decode, encode
from orbitstore.encryption import Encryption, SimpleEncryption
from orbitstore.encryption.simple import ITERATIONS, IV_LENGTH, SALT_LENGTH
from orbitstore.errors import ConfigError, DatabaseError, EncryptionError, LogError, SignatureError
from orbitstore.log import Entry, Log
from tests.log.helpers import new_log, users

HEADER = SALT_LENGTH + IV_LENGTH


class Reversing:
    """A toy encrypter (bytes reversed plus a marker), to see exactly where each layer applies."""

    async def encrypt(self, data: bytes) -> bytes:
        return b"ENC" + data[::-1]

    async def decrypt(self, data: bytes) -> bytes:
        if not data.startswith(b"ENC"):
            raise ValueError("not ours")
        return data[3:][::-1]


# -- the simple-encryption layout -------------------------------------------------------------------


async def test_layout_is_salt_iv_ciphertext_tag_with_pbkdf2_aes128() -> None:
    enc = SimpleEncryption(password="world")
    out = await enc.encrypt(b"hello")
    assert len(out) == HEADER + 5 + 16
    salt, iv = out[:SALT_LENGTH], out[SALT_LENGTH:HEADER]
    key = hashlib.pbkdf2_hmac("sha256", b"world", salt, ITERATIONS, 16)
    assert AESGCM(key).decrypt(iv, out[HEADER:], None) == b"hello"  # an independent decryption
    assert await SimpleEncryption(password="world").decrypt(out) == b"hello"


async def test_every_encryption_has_a_fresh_iv() -> None:
    enc = SimpleEncryption(password="pw")
    outs = [await enc.encrypt(b"same plaintext") for _ in range(200)]
    assert len({o[SALT_LENGTH:HEADER] for o in outs}) == 200
    assert len({o[:SALT_LENGTH] for o in outs}) == 1  # one PBKDF2 per key, not per message


async def test_key_rotates_after_the_message_bound() -> None:
    enc = SimpleEncryption(password="pw", max_messages_per_key=3)
    outs = [await enc.encrypt(b"x") for _ in range(7)]
    assert len({o[:SALT_LENGTH] for o in outs}) == 3
    assert all([await enc.decrypt(o) for o in outs])


async def test_wrong_password_tampering_and_short_input_are_rejected() -> None:
    out = await SimpleEncryption(password="right").encrypt(b"secret")
    with pytest.raises(EncryptionError, match="wrong password"):
        await SimpleEncryption(password="wrong").decrypt(out)
    for i in (0, SALT_LENGTH, HEADER, len(out) - 1):
        bad = bytearray(out)
        bad[i] ^= 1
        with pytest.raises(EncryptionError):
            await SimpleEncryption(password="right").decrypt(bytes(bad))
    with pytest.raises(EncryptionError, match="too short"):
        await SimpleEncryption(password="right").decrypt(out[: HEADER + 15])


async def test_empty_password_accepts_the_webkit_fallback_key() -> None:
    """JS falls back to PBKDF2("", 16 zero bytes) where the runtime refuses an empty PBKDF2 key."""
    fallback = hashlib.pbkdf2_hmac("sha256", b"", bytes(16), ITERATIONS, 16)
    salt, iv = b"s" * SALT_LENGTH, b"i" * IV_LENGTH
    made_by_webkit = salt + iv + AESGCM(fallback).encrypt(iv, b"data", None)
    enc = SimpleEncryption(password="")
    assert await enc.decrypt(made_by_webkit) == b"data"
    assert await enc.decrypt(await enc.encrypt(b"ours")) == b"ours"


def test_options_are_checked() -> None:
    with pytest.raises(ConfigError):
        SimpleEncryption(password=3)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        SimpleEncryption(password="x", max_messages_per_key=0)
    with pytest.raises(ConfigError, match="async encrypt"):
        Encryption(data=object())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown encryption layers"):
        Encryption.of({"payload": Reversing()})
    assert Encryption.of({}) is None
    assert Encryption.of(None) is None
    assert "hidden" in repr(SimpleEncryption(password="secret")) and "secret" not in repr(
        SimpleEncryption(password="secret")
    )


# -- where the log applies each layer ---------------------------------------------------------------


async def test_data_layer_encrypts_the_dag_cbor_payload_and_signs_the_ciphertext() -> None:
    ids, (a,) = await users("userA")
    log = await new_log(ids, a, "A", encryption={"data": Reversing()})
    entry = await log.append({"op": "PUT", "key": "k", "value": 1.0})
    stored = decode(entry.bytes)
    assert stored["payload"] == b"ENC" + encode({"op": "PUT", "key": "k", "value": 1})[::-1]
    assert entry.payload == {"op": "PUT", "key": "k", "value": 1}
    assert entry.encrypted_payload == stored["payload"]
    unsigned = encode({k: stored[k] for k in ("v", "id", "next", "refs", "clock", "payload")})
    assert entry.signed_bytes() == unsigned
    assert ids.verify(entry.sig, entry.key, unsigned)
    await entry.verify(ids)
    assert entry.hash == block_cid(entry.bytes)


async def test_replication_layer_wraps_the_block_and_the_wrapper_cid_is_the_hash() -> None:
    ids, (a,) = await users("userA")
    log = await new_log(ids, a, "A", encryption={"replication": Reversing()})
    first = await log.append("one")
    second = await log.append("two")
    inner = await Reversing().decrypt(decode(first.bytes))
    assert decode(inner)["payload"] == "one"  # the inner block is an ordinary entry
    assert first.hash == block_cid(first.bytes) != block_cid(inner)
    assert second.next == (first.hash,)  # next points at wrapper CIDs
    assert await log.entry_storage.get(first.hash) == first.bytes
    reopened = await log.get(first.hash)
    assert reopened is not None and reopened.payload == "one"


async def test_both_layers_round_trip_through_storage_and_join() -> None:
    ids, (a, b) = await users("userA", "userB")
    layers = Encryption(data=SimpleEncryption(password="d"), replication=SimpleEncryption(password="r"))
    la = await new_log(ids, a, "X", encryption=layers)
    lb = await new_log(
        ids, b, "X", encryption={"data": SimpleEncryption(password="d"), "replication": SimpleEncryption(password="r")}
    )
    for i in range(5):
        await la.append({"n": i, "f": 0.5})
    await lb.append("from b")
    await lb.join(la)
    await la.join(lb)
    values_a = [e.payload for e in await la.values()]
    assert values_a == [e.payload for e in await lb.values()]
    assert {"n": 4, "f": 0.5} in values_a and "from b" in values_a
    for e in await lb.values():
        await e.verify(ids)
    # the same storages reopened (heads read back and decrypted) give the same log
    again = await Log.open(
        a,
        identities=ids,
        log_id="X",
        entry_storage=la.entry_storage,
        heads_storage=la.heads_storage,
        index_storage=la.index_storage,
        encryption=layers,
    )
    assert [e.payload for e in await again.values()] == values_a


async def test_decode_entry_rejects_wrong_keys_tampering_and_wrong_hash() -> None:
    ids, (a,) = await users("userA")
    log = await new_log(ids, a, "A", encryption={"data": SimpleEncryption(password="p")})
    entry = await log.append("secret")
    other = await new_log(ids, a, "A", encryption={"data": SimpleEncryption(password="q")})
    with pytest.raises(EncryptionError):
        await other.decode_entry(entry.bytes)
    with pytest.raises(LogError, match="hashes to"):
        await log.decode_entry(entry.bytes, expected_hash="zdpuAn26ookFToGNmpVHgEM71YMULiyS8mAs9UQtV1g6eEyRP")
    # a payload altered after signing: decrypts fine (same key) but no longer verifies
    forged_payload = await SimpleEncryption(password="p").encrypt(encode("forged"))
    stored = decode(entry.bytes)
    stored["payload"] = forged_payload
    forged = await log.decode_entry(encode(stored))
    assert forged.payload == "forged"
    with pytest.raises(SignatureError):
        forged.verify_signature(ids)


async def test_relay_without_the_data_key_verifies_and_stores() -> None:
    ids, (a, b) = await users("userA", "userB")
    writer = await new_log(ids, a, "R", encryption={"data": SimpleEncryption(password="p")})
    for i in range(3):
        await writer.append({"i": i})
    relay = await new_log(ids, b, "R")
    await relay.join(writer)
    entries = await relay.values()
    assert len(entries) == 3 and all(type(e.payload) is bytes for e in entries)
    reader = await new_log(ids, b, "R", encryption={"data": SimpleEncryption(password="p")})
    await reader.join(relay)
    assert [e.payload for e in await reader.values()] == [{"i": 0}, {"i": 1}, {"i": 2}]


async def test_a_failing_encrypter_is_an_encryption_error() -> None:
    class Broken:
        async def encrypt(self, data: bytes) -> bytes:
            raise RuntimeError("hardware token unplugged")

        async def decrypt(self, data: bytes) -> bytes:
            return "not bytes"  # type: ignore[return-value]

    ids, (a,) = await users("userA")
    log = await new_log(ids, a, "A", encryption={"data": Broken()})
    with pytest.raises(EncryptionError, match="hardware token"):
        await log.append("x")
    assert await log.heads() == []
    plain = await (await new_log(ids, a, "A")).append(b"bytes payload")
    with pytest.raises(EncryptionError, match="not bytes"):
        await Entry.open(plain.bytes, encryption=Encryption(data=Broken()))


# -- through the store -------------------------------------------------------------------------------


async def test_store_threads_encryption_to_events_and_keyvalue() -> None:
    async with orbitstore.open(identity="alice") as store:
        enc = {"data": SimpleEncryption(password="w"), "replication": SimpleEncryption(password="h")}
        kv = await store.open("kv", type="keyvalue", encryption=enc)
        h = await kv.put("a", {"x": [1, 2]})
        assert await kv.get("a") == {"x": [1, 2]}
        assert type(decode(await store.blocks.get(h) or b"")) is bytes
        ev = await store.open("ev", type="events", encryption={"data": SimpleEncryption(password="w")})
        await ev.add("hello")
        assert [x["value"] for x in await ev.all()] == ["hello"]
        assert await store.open(str(kv.address)) is kv
        with pytest.raises(DatabaseError, match="other encryption"):
            await store.open(str(kv.address), encryption={"data": SimpleEncryption(password="w")})


async def test_store_refuses_encryption_for_documents_and_datasets() -> None:
    async with orbitstore.open(identity="alice") as store:
        with pytest.raises(ConfigError, match="documents"):
            await store.open("docs", type="documents", encryption={"data": SimpleEncryption(password="w")})
        with pytest.raises(ConfigError, match="per-reader keys"):
            await store.open("ds", type="dataset", encryption={"data": SimpleEncryption(password="w")})
