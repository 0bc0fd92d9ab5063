"""CARv1: what write_car writes, read_car reads back, and malformed files are refused with DecodeError."""

from __future__ import annotations

import pytest

from orbitstore.codec import CID, RAW, encode, read_car, write_car
from orbitstore.codec.cid import varint
from orbitstore.errors import DecodeError


def _blocks() -> list[tuple[CID, bytes]]:
    a = encode({"a": 1})
    b = encode({"link": CID.of(a)})
    raw = b"\x00raw bytes\xff"
    return [(CID.of(a), a), (CID.of(b), b), (CID.of(raw, codec=RAW), raw)]


def test_roundtrip_keeps_roots_blocks_and_order() -> None:
    blocks = _blocks()
    data = write_car(blocks, [blocks[1][0]])
    roots, read = read_car(data)
    assert roots == [blocks[1][0]]
    assert read == blocks


def test_header_is_dag_cbor_roots_and_version() -> None:
    data = write_car([], [])
    header = encode({"roots": [], "version": 1})
    assert data == varint(len(header)) + header
    assert read_car(data) == ([], [])


def test_cidv0_sections_are_read() -> None:
    block = b"\x0a\x02\x08\x01"  # any bytes: the CID is what matters here
    v0 = CID(0, 0x70, CID.of(block).multihash)
    assert read_car(write_car([(v0, block)]))[1] == [(v0, block)]


def test_a_block_that_does_not_match_its_cid_is_refused() -> None:
    (cid, block), *_ = _blocks()
    with pytest.raises(DecodeError, match="does not hash"):
        read_car(write_car([(cid, block + b"x")]))


@pytest.mark.parametrize(
    "data",
    [
        b"",  # no header
        b"\x05\xa0",  # header length past the end
        varint(1) + b"\xa0",  # an empty map: no version
        varint(len(encode({"roots": [], "version": 2}))) + encode({"roots": [], "version": 2}),
        varint(len(encode({"roots": [1], "version": 1}))) + encode({"roots": [1], "version": 1}),
    ],
)
def test_malformed_headers_are_refused(data: bytes) -> None:
    with pytest.raises(DecodeError, match="CAR header"):
        read_car(data)


def test_truncated_and_malformed_sections_are_refused() -> None:
    data = write_car(_blocks()[:1])
    with pytest.raises(DecodeError, match="truncated"):
        read_car(data[:-1])
    header = write_car([])
    with pytest.raises(DecodeError, match="malformed CID"):
        read_car(header + varint(3) + b"\x01\x71\x12")  # a CID cut before its digest
    with pytest.raises(DecodeError, match="section at byte"):
        read_car(header + b"\xff")  # a varint that never ends
