"""orbitstore's own sync messages: the direct path's frames and the ``hello`` announcement.

All are DAG-CBOR maps with ``v`` (the protocol version, 1) and ``type``,
decoded strictly (canonical form, exact key sets, bounded lists):

================  ==========  ===================================================
type              direction   fields
================  ==========  ===================================================
``have``          client →    ``address`` (database address), ``heads`` (CIDs)
``setup``         client →    ``address``: send the blocks needed to open it
``block``         ← server    ``cid`` (text), ``data`` (bytes: the block)
``done``          ← server    ``heads`` (the server's heads), ``blocks`` (count)
``error``         ← server    ``message`` (why the request was refused)
``hello``         pubsub      ``endpoint`` (``host:port`` or null), ``heads``
================  ==========  ===================================================

A ``have`` is answered with ``block`` messages (the missing entries and what
they need), a ``setup`` with the database's manifest and access-controller
blocks (:mod:`orbitstore.sync.setup`); both end with ``done``.

On the direct path each message is one frame: a 4-byte big-endian length,
then that many bytes of DAG-CBOR. ``hello`` travels alone on the pubsub
topic ``<address>/orbitstore/hello`` (see :func:`hello_topic`), never on the
database topic, where OrbitDB peers expect only entry blocks.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Any

import cbor2

from orbitstore.codec import decode, encode
from orbitstore.errors import DecodeError
from orbitstore.sync.transport import DirectBlock, DirectDone

__all__ = [
    "FRAME_HEADER_SIZE",
    "MAX_HEADS",
    "PROTOCOL_VERSION",
    "Have",
    "Hello",
    "Refusal",
    "ServerMessage",
    "Setup",
    "decode_client_message",
    "decode_hello",
    "decode_server_message",
    "encode_message",
    "frame",
    "frame_length",
    "hello_topic",
]

PROTOCOL_VERSION = 1
FRAME_HEADER_SIZE = 4
#: Most heads a message may list (a log with more heads than this is re-announced in parts).
MAX_HEADS = 1024
_MAX_TEXT = 256
_CID_TEXT = re.compile(r"[A-Za-z0-9]{8,128}")
_ENDPOINT = re.compile(r"[A-Za-z0-9.\-:\[\]]{1,255}")
_HEADER = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class Have:
    """Client → server: the database wanted and the heads the client already has."""

    address: str
    heads: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Setup:
    """Client → server: the blocks needed to open database ``address`` (manifest, access controller)."""

    address: str


@dataclass(frozen=True, slots=True)
class Refusal:
    """Server → client: the request cannot be served (unknown database, malformed request)."""

    message: str


@dataclass(frozen=True, slots=True)
class Hello:
    """An orbitstore peer's announcement: its direct endpoint (if any) and its current heads."""

    endpoint: str | None
    heads: tuple[str, ...]


ServerMessage = DirectBlock | DirectDone | Refusal


def hello_topic(address: str) -> str:
    """The pubsub topic orbitstore peers announce themselves on for database ``address``."""
    return f"{address}/orbitstore/hello"


def frame(payload: bytes) -> bytes:
    """One frame: the 4-byte big-endian length of ``payload``, then ``payload``."""
    return _HEADER.pack(len(payload)) + payload


def frame_length(header: bytes) -> int:
    """The payload length a 4-byte frame header announces."""
    if len(header) != FRAME_HEADER_SIZE:
        raise DecodeError(f"a frame header has {FRAME_HEADER_SIZE} bytes, not {len(header)}")
    return int(_HEADER.unpack(header)[0])


def _block_body(cid: str, data: bytes) -> bytes:
    # Keys inserted in DAG-CBOR order (by length, then bytes): cbor2 keeps it, and writes text,
    # bytes and small ints canonically, so this is the canonical encoding without a normalize pass.
    return cbor2.dumps({"v": PROTOCOL_VERSION, "cid": cid, "data": data, "type": "block"})


def encode_message(message: Have | Setup | Refusal | Hello | DirectBlock | DirectDone) -> bytes:
    """The DAG-CBOR bytes of ``message`` (with ``v`` and ``type``)."""
    body: dict[str, Any]
    if isinstance(message, DirectBlock):
        if type(message.cid) is not str or type(message.data) is not bytes:
            raise DecodeError("a block message holds a text CID and bytes")
        return _block_body(message.cid, message.data)
    if isinstance(message, DirectDone):
        body = {"type": "done", "heads": list(message.heads), "blocks": message.blocks}
    elif isinstance(message, Have):
        body = {"type": "have", "address": message.address, "heads": list(message.heads)}
    elif isinstance(message, Setup):
        body = {"type": "setup", "address": message.address}
    elif isinstance(message, Refusal):
        body = {"type": "error", "message": message.message}
    else:
        body = {"type": "hello", "endpoint": message.endpoint, "heads": list(message.heads)}
    body["v"] = PROTOCOL_VERSION
    return encode(body)


def _fields(data: bytes, allowed: dict[str, frozenset[str]]) -> tuple[str, dict[str, Any]]:
    value = decode(data)  # strict: canonical DAG-CBOR only
    if type(value) is not dict:
        raise DecodeError("a sync message must be a map")
    if value.get("v") != PROTOCOL_VERSION or type(value.get("v")) is not int:
        raise DecodeError(f"unsupported sync protocol version {value.get('v')!r}")
    kind = value.get("type")
    if type(kind) is not str or kind not in allowed:
        raise DecodeError(f"unexpected sync message type {kind!r}")
    if value.keys() != allowed[kind] | {"v", "type"}:
        raise DecodeError(f"sync message {kind!r} has fields {sorted(value)}")
    return kind, value


def _text(value: Any, name: str, *, pattern: re.Pattern[str] | None = None) -> str:
    if type(value) is not str or not value or len(value) > _MAX_TEXT:
        raise DecodeError(f"{name} must be text of 1 to {_MAX_TEXT} characters")
    if pattern is not None and pattern.fullmatch(value) is None:
        raise DecodeError(f"{name} {value[:64]!r} is malformed")
    return value


def _heads(value: Any) -> tuple[str, ...]:
    if type(value) is not list or len(value) > MAX_HEADS:
        raise DecodeError(f"heads must be a list of at most {MAX_HEADS} CIDs")
    return tuple(_text(h, "a head", pattern=_CID_TEXT) for h in value)


_CLIENT = {"have": frozenset({"address", "heads"}), "setup": frozenset({"address"})}
_SERVER = {
    "block": frozenset({"cid", "data"}),
    "done": frozenset({"heads", "blocks"}),
    "error": frozenset({"message"}),
}
_HELLO = {"hello": frozenset({"endpoint", "heads"})}


def decode_client_message(data: bytes) -> Have | Setup:
    """Decode what a direct-path client sends (a ``have`` or a ``setup``); :class:`DecodeError` otherwise."""
    kind, value = _fields(data, _CLIENT)
    address = _text(value["address"], "address")
    if kind == "setup":
        return Setup(address)
    return Have(address, _heads(value["heads"]))


def _fast_block(data: bytes) -> DirectBlock | None:
    """The block message in ``data`` if it is one, in canonical form; ``None`` to take the general path.

    The stream is mostly block messages: decoding one leniently and checking
    that re-encoding it canonically gives back the same bytes is as strict as
    the general decoder, and several times faster.
    """
    try:
        value = cbor2.loads(data)
    except Exception:  # cbor2 raises several types; the general path explains the problem
        return None
    if type(value) is not dict or value.keys() != {"v", "cid", "data", "type"} or value["type"] != "block":
        return None
    cid, block, version = value["cid"], value["data"], value["v"]
    if type(cid) is not str or type(block) is not bytes or type(version) is not int or version != PROTOCOL_VERSION:
        return None
    if not block or len(cid) > _MAX_TEXT or _CID_TEXT.fullmatch(cid) is None or _block_body(cid, block) != data:
        return None
    return DirectBlock(cid, block)


def decode_server_message(data: bytes) -> ServerMessage:
    """Decode what a direct-path server sends; :class:`DecodeError` for anything malformed."""
    fast = _fast_block(data)
    if fast is not None:
        return fast
    kind, value = _fields(data, _SERVER)
    if kind == "block":
        if type(value["data"]) is not bytes or not value["data"]:
            raise DecodeError("a block message needs non-empty bytes")
        return DirectBlock(_text(value["cid"], "cid", pattern=_CID_TEXT), value["data"])
    if kind == "done":
        count = value["blocks"]
        if type(count) is not int or count < 0:
            raise DecodeError("done.blocks must be a non-negative integer")
        return DirectDone(_heads(value["heads"]), count)
    message = value["message"]
    if type(message) is not str:
        raise DecodeError("error.message must be text")
    return Refusal(message[:_MAX_TEXT])


def decode_hello(data: bytes) -> Hello:
    """Decode a ``hello`` from the hello topic; :class:`DecodeError` for anything malformed."""
    _, value = _fields(data, _HELLO)
    endpoint = value["endpoint"]
    if endpoint is not None:
        endpoint = _text(endpoint, "endpoint", pattern=_ENDPOINT)
    return Hello(endpoint, _heads(value["heads"]))
