"""Strict DAG-CBOR and CIDs, byte-compatible with JS OrbitDB."""

from orbitstore.codec.car import read_car, write_car
from orbitstore.codec.cid import CID, DAG_CBOR, RAW, SHA2_256, block_cid, cid_for
from orbitstore.codec.dagcbor import decode, decode_first, dumps, encode, normalize, sort_keys

__all__ = [
    "CID",
    "DAG_CBOR",
    "RAW",
    "SHA2_256",
    "block_cid",
    "cid_for",
    "decode",
    "decode_first",
    "dumps",
    "encode",
    "normalize",
    "read_car",
    "sort_keys",
    "write_car",
]
