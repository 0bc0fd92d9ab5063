"""Strict DAG-CBOR: vectors round-trip, the hashberg oracle agrees, bad input is refused with a reason."""

from __future__ import annotations

import base64
import json
import math

import dag_cbor  # test oracle only
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orbitstore.codec import CID, block_cid, decode, decode_first, encode
from orbitstore.errors import DecodeError, EncodeError
from tests.conftest import VECTORS

BLOCKS = {
    cid: base64.b64decode(b64) for cid, b64 in json.loads((VECTORS / "blocks.json").read_text())["blocks"].items()
}


@pytest.mark.parametrize("cid", sorted(BLOCKS))
def test_vector_blocks_roundtrip_and_hash(cid: str) -> None:
    data = BLOCKS[cid]
    value = decode(data)
    assert encode(value) == data
    assert block_cid(data) == cid
    assert dag_cbor.encode(dag_cbor.decode(data)) == data


def test_key_order_is_length_first() -> None:
    assert encode({"bb": 1, "a": 2, "c": 3}) == bytes.fromhex("a361610261630362626201")


@pytest.mark.parametrize(
    ("value", "hex_"),
    [
        (1.0, "01"),
        (-0.0, "00"),
        (1.5, "fb3ff8000000000000"),
        (2.0**53, "fb4340000000000000"),  # integral but past JS's safe range: stays a float
        (-1, "20"),
        (2**64 - 1, "1bffffffffffffffff"),
        (-(2**64), "3bffffffffffffffff"),
        (b"\x00\x01", "420001"),
        (None, "f6"),
        (True, "f5"),
        ((1, 2), "820102"),
    ],
)
def test_js_number_semantics(value: object, hex_: str) -> None:
    assert encode(value).hex() == hex_


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 2**64, -(2**64) - 1, {1: 2}, {1, 2}, object()])
def test_unencodable_values_raise(value: object) -> None:
    with pytest.raises(EncodeError):
        encode(value)


def test_cid_links_are_tag_42() -> None:
    cid = CID.parse("zdpuAsKzwUEa8cz9pkJxxFMxLuP3cutA9PDGoLZytrg4RSVEa")
    data = encode({"link": cid})
    assert data[6:8] == bytes.fromhex("d82a")
    assert decode(data) == {"link": cid}
    assert dag_cbor.encode(dag_cbor.decode(data)) == data


@pytest.mark.parametrize(
    ("hex_", "reason"),
    [
        ("0102", "trailing"),
        ("1801", "non-canonical integer"),
        ("5801ff", "non-canonical integer or length"),
        ("f93e00", "64-bit"),
        ("fa3fc00000", "64-bit"),
        ("fb3ff0000000000000", "integral float"),
        ("fb7ff8000000000000", "NaN"),
        ("fb7ff0000000000000", "NaN and infinities"),
        ("a2616201616101", "canonical order"),
        ("81a2616201616101", "canonical order"),  # nested in a list
        ("a16178a2616201616101", "canonical order"),  # nested in a map
        ("81fb3ff0000000000000", "integral float"),  # nested
        ("a2616101616102", "duplicate"),
        ("a10102", "keys must be text"),
        ("9f01ff", "indefinite"),
        ("c11a514b67b0", "tag 1"),
        ("d82b4100", "tag 43"),
        ("f7", "undefined"),
        ("f0", "simple value"),
        ("6261", "truncated"),
        ("62c328", "UTF-8"),
        ("", "empty"),
    ],
)
def test_strict_decoding_rejects_with_reason(hex_: str, reason: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode(bytes.fromhex(hex_))
    assert reason.lower() in str(info.value).lower()


def test_errors_carry_offsets() -> None:
    data = encode({"a": [1, 2, 3]}) + b"\x00"
    with pytest.raises(DecodeError) as info:
        decode(data)
    assert info.value.offset == len(data) - 1


def test_decode_first_frames_a_stream() -> None:
    one, two = encode({"x": 1}), encode([1, "two"])
    value, used = decode_first(one + two)
    assert value == {"x": 1} and used == len(one)
    with pytest.raises(DecodeError, match="incomplete"):
        decode_first(two[:-1])


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.binary(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_roundtrip_matches_oracle(value: object) -> None:
    data = encode(value)
    assert encode(decode(data)) == data
    assert dag_cbor.encode(dag_cbor.decode(data)) == data


@settings(max_examples=300, deadline=None)
@given(json_values, st.data())
def test_mutations_never_decode_to_different_canonical_bytes(value: object, data: st.DataObject) -> None:
    raw = bytearray(encode(value))
    i = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    raw[i] ^= data.draw(st.integers(min_value=1, max_value=255))
    try:
        decoded = decode(bytes(raw))
    except DecodeError:
        return
    assert encode(decoded) == bytes(raw)  # accepted only if it is itself canonical
