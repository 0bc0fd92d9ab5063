"""CAR v1 (Content Addressable aRchive) files: the format of Kubo's ``dag import`` and ``dag export``.

A CARv1 is a varint-length-prefixed DAG-CBOR header ``{"roots": [links],
"version": 1}`` followed by sections, each a varint length, then a binary CID
and the block's bytes (https://ipld.io/specs/transport/car/carv1/).
:func:`write_car` builds one from blocks held in memory; :func:`read_car`
parses one strictly, checking every block against its CID, and raises
:class:`~orbitstore.errors.DecodeError` on anything malformed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from orbitstore.codec.cid import CID, SHA2_256, read_varint, varint
from orbitstore.codec.dagcbor import decode, encode
from orbitstore.errors import CIDError, DecodeError

__all__ = ["read_car", "write_car"]


def write_car(blocks: Iterable[tuple[CID, bytes]], roots: Sequence[CID] = ()) -> bytes:
    """A CARv1 holding ``blocks`` (in the given order) with ``roots`` in its header.

    The bytes are not checked against their CIDs here: callers pass blocks
    they have hashed (Kubo hashes them again on import).
    """
    header = encode({"roots": list(roots), "version": 1})
    out = bytearray(varint(len(header)))
    out += header
    for cid, block in blocks:
        raw = cid.to_bytes()
        out += varint(len(raw) + len(block))
        out += raw
        out += block
    return bytes(out)


def read_car(data: bytes) -> tuple[list[CID], list[tuple[CID, bytes]]]:
    """Parse a CARv1: its roots and its ``(CID, block)`` sections, in file order.

    Raises :class:`~orbitstore.errors.DecodeError` for a malformed header or
    section, a version other than 1, or a sha2-256 block whose bytes do not
    hash to its CID.
    """
    try:
        length, pos = read_varint(data, 0)
        if pos + length > len(data):
            raise DecodeError("truncated")
        header = decode(data[pos : pos + length])
    except (CIDError, DecodeError) as exc:
        raise DecodeError(f"CAR header is malformed: {exc}") from exc
    if not isinstance(header, dict) or header.get("version") != 1:
        raise DecodeError("CAR header must be one map with version 1")
    roots = header.get("roots")
    if not isinstance(roots, list) or not all(isinstance(r, CID) for r in roots):
        raise DecodeError("CAR header roots must be a list of links")
    pos += length
    sections: list[tuple[CID, bytes]] = []
    while pos < len(data):
        try:
            size, start = read_varint(data, pos)
        except CIDError as exc:
            raise DecodeError(f"CAR section at byte {pos}: {exc}") from exc
        end = start + size
        if end > len(data):
            raise DecodeError(f"CAR section at byte {pos} is truncated")
        cid, block = _split_section(data[start:end], pos)
        if cid.hash_code == SHA2_256 and not cid.verify(block):
            raise DecodeError(f"CAR block {cid} does not hash to its CID")
        sections.append((cid, block))
        pos = end
    return roots, sections


def _split_section(section: bytes, offset: int) -> tuple[CID, bytes]:
    """Split one section into its CID and block (the CID's own length fields say where it ends)."""
    try:
        if len(section) >= 34 and section[0] == SHA2_256 and section[1] == 0x20:
            return CID.from_bytes(section[:34]), section[34:]  # CIDv0: a bare multihash
        _, pos = read_varint(section, 0)  # version
        _, pos = read_varint(section, pos)  # codec
        _, pos = read_varint(section, pos)  # hash function
        digest_length, pos = read_varint(section, pos)
        end = pos + digest_length
        if end > len(section):
            raise CIDError("truncated CID")
        return CID.from_bytes(section[:end]), section[end:]
    except CIDError as exc:
        raise DecodeError(f"CAR section at byte {offset} has a malformed CID: {exc}") from exc
