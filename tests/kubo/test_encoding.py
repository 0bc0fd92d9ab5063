"""Pure parts of orbitstore.kubo: CID text bases, multibase, error translation, addresses."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multiformats import CID, multihash

from orbitstore.errors import CIDError, ConfigError, DecodeError, KuboError, NotFound, StorageTimeout
from orbitstore.kubo import api_url_from_multiaddr
from orbitstore.kubo._encoding import (
    b58decode,
    b58encode,
    cid_prefix,
    cid_to_base58btc,
    multibase_decode,
    multibase_encode,
)
from orbitstore.kubo._errors import error_from_response
from orbitstore.kubo.profile import apply_profile


@given(st.binary(max_size=64))
def test_base58_roundtrip(data: bytes) -> None:
    assert b58decode(b58encode(data)) == data


@given(st.binary(max_size=256), st.sampled_from(["dag-cbor", "raw", "dag-json"]))
def test_base32_cid_becomes_base58btc(data: bytes, codec: str) -> None:
    cid = CID("base32", 1, codec, multihash.digest(data, "sha2-256"))
    expected = str(cid.set(base="base58btc"))
    assert cid_to_base58btc(str(cid)) == expected
    assert cid_to_base58btc(str(cid).upper()) == expected
    assert cid_to_base58btc(expected) == expected
    prefix = cid_prefix(str(cid))
    assert prefix.codec == cid.codec.code
    assert prefix.hash_code == 0x12
    assert prefix.digest == cid.raw_digest


def test_cid_text_errors() -> None:
    v0 = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
    assert cid_to_base58btc(v0) == v0
    for bad in ("", "mAXESIA", "b!!!!", "bafy"):
        with pytest.raises(CIDError):
            cid_to_base58btc(bad)
    with pytest.raises(CIDError):
        cid_prefix(v0)
    with pytest.raises(CIDError):
        cid_prefix("z0OIl")  # not base58 characters


@given(st.binary(max_size=300))
def test_multibase_roundtrip(data: bytes) -> None:
    text = multibase_encode(data)
    assert text.startswith("u") and "=" not in text and "+" not in text and "/" not in text
    assert multibase_decode(text) == data


def test_multibase_errors() -> None:
    assert multibase_decode("mAP8") == b"\x00\xff"
    for bad in ("", "zabc", "m!!"):
        with pytest.raises(DecodeError):
            multibase_decode(bad)


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("context deadline exceeded", StorageTimeout),
        ("block was not found locally (offline): ipld: could not find bafy", NotFound),
        ("path 'bafy' is not pinned", NotFound),
        ("not pinned or pinned indirectly", NotFound),
        ('invalid path "x": path does not have enough components', CIDError),
        ('unknown multicodec: "nonsense"', KuboError),
    ],
)
def test_error_translation(message: str, error: type[Exception]) -> None:
    body = json.dumps({"Message": message, "Code": 0, "Type": "error"}).encode()
    translated = error_from_response("block/get", 500, body)
    assert type(translated) is error
    assert message in str(translated) and "block/get" in str(translated)


def test_error_translation_of_plain_text() -> None:
    translated = error_from_response("nope", 404, b"404 page not found\n")
    assert type(translated) is KuboError
    assert "404 page not found" in str(translated)


def test_api_url_from_multiaddr() -> None:
    assert api_url_from_multiaddr("/ip4/127.0.0.1/tcp/5001") == "http://127.0.0.1:5001"
    assert api_url_from_multiaddr("/ip6/::1/tcp/5001\n") == "http://[::1]:5001"
    assert api_url_from_multiaddr("http://127.0.0.1:5001/") == "http://127.0.0.1:5001"
    for bad in ("", "/ip4/127.0.0.1", "/unix/tmp/sock"):
        with pytest.raises(KuboError):
            api_url_from_multiaddr(bad)


def test_apply_profile_sets_nested_keys() -> None:
    config: dict[str, object] = {"Swarm": {"Other": 1}}
    apply_profile(config, {"Swarm.RelayClient.Enabled": False, "Routing.Type": "none"})
    assert config == {"Swarm": {"Other": 1, "RelayClient": {"Enabled": False}}, "Routing": {"Type": "none"}}
    with pytest.raises(ConfigError, match="not an object"):
        apply_profile({"Swarm": 1}, {"Swarm.X": 1})


def test_random_bytes_do_not_confuse_b58() -> None:
    data = b"\0\0" + os.urandom(30)
    assert b58encode(data).startswith("11")
