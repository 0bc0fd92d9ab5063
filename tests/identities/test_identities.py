"""OrbitDB identities from fixed keys reproduce the published hashes and signatures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orbitstore.errors import IdentityError, KeystoreError, NotFound
from orbitstore.identities import Identities, Identity, KeyStore, MemoryKeyStore, public_key_hex, sign, verify
from tests.conftest import VECTORS

# spec §12: the upstream fixture keys, with identity hashes the spec lists
FIXTURES = {
    "userA": (
        "5f74f154ac4591ccf8a67f7edc98971759d684c07f53037ea0d361e2ba3f4683",
        "5c557f3ca56651e22e68ee770da8e7cc6f12d30081f60a3ca4b5f9f3a9a5f9df",
        "038cc50a92f10c39f74394a1779dffb2c79ddc6b7d1bbef8c484bd4bbf8330c426",
        "zdpuAyccZZfi9caz6LfoWkbAxfPvWAVevzcDe2mPG99WHnNK5",
    ),
    "userB": (
        "7824c1579131baa6d6c34736b95c596c6c81afdb2f84654228eb2c75403e4c65",
        "4ba52f65ada1d2ca5f70c562202c1a9d9cbef125df78525b0737aff3d13653f4",
        "038ca3a0a02d0a6a36e85f206b18ba2bd92395dcb07d156d9eff9c589206ca6f41",
        "zdpuAs6bt3EaApSobDcDvf4tMmRietwV3aCPYuzftBjizWAjw",
    ),
    "userC": (
        "81f78e97259ce190f46141cb5a3d9a9c006557126e8bb752bc78d62d07c1bb3e",
        "0b43ca53b8875baf229faed396f0efdd21498984210bb3f4df04364299ee430b",
        "02ec4f983586c612a0fa446d8192039474259c0e35d0cc4583d117361aadd47ef4",
        "zdpuAurods6Bnrrmiyd5mz9gZthBikgJXxcHoeVWAJuDMCji8",
    ),
    "userX": (
        "dfe24b20dbcb02217cf0a487f1db3004397160091ba6539dfb8042e94568f47e",
        "8b0d3e5ee88edea5314eca1ae8d4f9e276bdc08ac163ba540dc312014b568e37",
        "0342fa42a69135eade1e37ea520bc8ee9e240efd62cb0edf0516b21258b4eae656",
        "zdpuAvqN22Rxwx5EEenq6EyeydVKPKn43MXHzauuicjLEp8jP",
    ),
}


async def fixture_identity(ids: Identities, user: str) -> Identity:
    root, signing, _, _ = FIXTURES[user]
    root_pub = await ids.import_key(user, root)
    await ids.import_key(root_pub, signing)
    return await ids.create_identity(user)


@pytest.mark.parametrize("user", sorted(FIXTURES))
async def test_spec_fixture_identities(user: str) -> None:
    ids = await Identities.open()
    identity = await fixture_identity(ids, user)
    assert identity.public_key == FIXTURES[user][2]
    assert identity.hash == FIXTURES[user][3]
    assert await ids.verify_identity(identity)


async def test_vector_identities_and_blocks() -> None:
    data = json.loads((VECTORS / "identity.json").read_text())
    ids = await Identities.open()
    for user, keys in data["keys"].items():
        await ids.import_key(keys["idKey"]["keystoreName"], keys["idKey"]["privateKeyHex"])
        await ids.import_key(keys["signingKey"]["keystoreName"], keys["signingKey"]["privateKeyHex"])
        identity = await ids.create_identity(user)
        assert identity.hash == data["identities"][user]["hash"]
        assert identity.id == keys["idKey"]["publicKeyHex"]
        assert identity.public_key == keys["signingKey"]["publicKeyHex"]


def test_upstream_signature_vectors() -> None:
    key = bytes.fromhex("198594a8de39fd97017d11996d619b3746211605a9d290964badf58bc79bdb33")
    assert public_key_hex(key) == "0260baeaffa1de1e4135e5b395e0380563a622b9599d1b8e012a0f7603f516bdaa"
    root = bytes.fromhex(FIXTURES["userA"][0])
    sig = sign(root, b"data data data")
    assert sig == (
        "3045022100df961fa46bb8a3cb92594a24205e6008a84daa563ac3530f583bb9f9cef5af3b"
        "02207b84c5d63387d0a710e42e05785fbccdaf2534c8ed16adb8afd57c3eba930529"
    )
    assert verify(sig, public_key_hex(root), b"data data data")
    assert not verify(sig, public_key_hex(root), b"data data datA")
    assert not verify(sig.upper(), public_key_hex(root), b"data data data")


def test_high_s_signatures_are_rejected() -> None:
    root = bytes.fromhex(FIXTURES["userA"][0])
    der = bytes.fromhex(sign(root, b"m"))
    # DER: 30 len 02 rlen r 02 slen s; replace s by n - s (the high-S twin)
    rlen = der[3]
    r = der[4 : 4 + rlen]
    s = int.from_bytes(der[6 + rlen :], "big")
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    high = (n - s).to_bytes(33, "big")
    body = b"\x02" + bytes([len(r)]) + r + b"\x02" + bytes([len(high)]) + high
    forged = (b"\x30" + bytes([len(body)]) + body).hex()
    assert not verify(forged, public_key_hex(root), b"m")


async def test_forged_identity_fails_verification() -> None:
    ids = await Identities.open()
    good = await fixture_identity(ids, "userA")
    other = await fixture_identity(ids, "userB")
    fresh = await Identities.open()
    forged = Identity.build(id=good.id, public_key=other.public_key, signatures=other.signatures, type="publickey")
    assert not await fresh.verify_identity(forged)
    with pytest.raises(IdentityError):
        await fresh.add_identity_block(forged.bytes)
    assert await fresh.add_identity_block(good.bytes) == good


async def test_unknown_identity_and_provider() -> None:
    ids = await Identities.open()
    with pytest.raises(NotFound):
        await ids.get_identity("zdpuAyccZZfi9caz6LfoWkbAxfPvWAVevzcDe2mPG99WHnNK5")
    with pytest.raises(IdentityError, match="no identity provider"):
        await ids.create_identity("x", type="ethereum")


async def test_identity_block_must_match_hash() -> None:
    ids = await Identities.open()
    a = await fixture_identity(ids, "userA")
    with pytest.raises(IdentityError):
        Identity.decode(a.bytes, expected_hash=FIXTURES["userB"][3])


async def test_keystore_on_disk_and_deterministic(tmp_path: Path) -> None:
    ks = KeyStore(tmp_path / "keys")
    ids = await Identities.open(keystore=ks)
    a1 = await ids.create_identity("alice")
    ids2 = await Identities.open(keystore=KeyStore(tmp_path / "keys"))
    a2 = await ids2.create_identity("alice")
    assert a1 == a2
    for f in (tmp_path / "keys").iterdir():
        assert f.stat().st_mode & 0o777 == 0o600


async def test_keystore_passphrase(tmp_path: Path) -> None:
    ks = KeyStore(tmp_path / "k", passphrase="correct horse")
    await ks.add_key("weird/name ü", bytes(range(1, 33)))
    assert len(list((tmp_path / "k").iterdir())) == 1
    raw = next((tmp_path / "k").iterdir()).read_bytes()
    assert bytes(range(1, 33)) not in raw
    assert await KeyStore(tmp_path / "k", passphrase="correct horse").get_key("weird/name ü") == bytes(range(1, 33))
    with pytest.raises(KeystoreError, match="wrong passphrase"):
        await KeyStore(tmp_path / "k", passphrase="wrong").get_key("weird/name ü")
    with pytest.raises(KeystoreError, match="passphrase is needed"):
        await KeyStore(tmp_path / "k").get_key("weird/name ü")


async def test_keystore_rejects_bad_keys() -> None:
    ks = MemoryKeyStore()
    with pytest.raises(KeystoreError):
        await ks.add_key("a", b"\x00" * 32)
    with pytest.raises(KeystoreError):
        await ks.add_key("a", b"\x01" * 31)
    with pytest.raises(NotFound):
        await ks.get_key("missing")
