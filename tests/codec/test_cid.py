"""CIDs in both text forms, v0, binary, and rejection of malformed input."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multiformats import CID as OracleCID

from orbitstore.codec import CID, DAG_CBOR, RAW, block_cid
from orbitstore.codec.multibase import b58decode, b58encode, py_b58encode
from orbitstore.errors import CIDError

ENTRY = "zdpuAsKzwUEa8cz9pkJxxFMxLuP3cutA9PDGoLZytrg4RSVEa"


def test_base58_and_base32_agree_with_oracle() -> None:
    cid = CID.parse(ENTRY)
    assert cid.version == 1 and cid.codec == DAG_CBOR
    b32 = cid.encode("base32")
    assert b32.startswith("bafyrei")
    assert CID.parse(b32) == cid
    assert str(OracleCID.decode(ENTRY).encode("base32")) == b32
    assert cid.digest.hex() == "669d060fed29261424fab8c2ad6f277f1444595cf374f6f5d0c88d11b724ac8b"


def test_v0_parses() -> None:
    digest = hashlib.sha256(b"hello").digest()
    oracle = OracleCID("base58btc", 0, "dag-pb", ("sha2-256", digest))
    cid = CID.parse(str(oracle))
    assert cid.version == 0 and cid.digest == digest and str(cid) == str(oracle)


def test_block_cid_matches_cid_of() -> None:
    assert block_cid(b"\xa0") == CID.of(b"\xa0").encode()
    raw = CID.of(b"xyz", codec=RAW)
    assert raw.codec_name == "raw" and CID.parse(str(raw)) == raw
    assert raw.verify(b"xyz") and not raw.verify(b"xy")


@pytest.mark.parametrize(
    "text",
    ["", "zdpuAsKzwUEa8cz9pkJxxFMxLuP3cutA9PDGoLZytrg4RSVE0", "mAXESIA", "zdpu", "BAFYREI", "Qm" + "1" * 44],
)
def test_malformed_cids_raise(text: str) -> None:
    with pytest.raises(CIDError):
        CID.parse(text)


def test_truncated_binary_raises() -> None:
    raw = CID.parse(ENTRY).to_bytes()
    with pytest.raises(CIDError):
        CID.from_bytes(raw[:-1])
    with pytest.raises(CIDError):
        CID.from_bytes(b"\x02" + raw[1:])


@settings(max_examples=300)
@given(st.binary(max_size=64))
def test_fast_base58_matches_the_pure_python_one(data: bytes) -> None:
    assert b58encode(data) == py_b58encode(data)
    assert b58decode(b58encode(data)) == data
