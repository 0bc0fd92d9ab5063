"""The sync wire formats: frames, direct-path messages and hellos, decoded strictly."""

from __future__ import annotations

import cbor2
import pytest

from orbitstore.codec import encode
from orbitstore.errors import DecodeError
from orbitstore.sync import DirectBlock, DirectDone, Have, Hello, Refusal, hello_topic
from orbitstore.sync.messages import (
    MAX_HEADS,
    Setup,
    decode_client_message,
    decode_hello,
    decode_server_message,
    encode_message,
    frame,
    frame_length,
)

CID = "zdpuAn26ookFToGNmpVHgEM71YMULiyS8mAs9UQtV1g6eEyRP"


def test_round_trips() -> None:
    have = Have("/orbitdb/" + CID, (CID,))
    assert decode_client_message(encode_message(have)) == have
    setup = Setup("/orbitdb/" + CID)
    assert decode_client_message(encode_message(setup)) == setup
    for message in (DirectBlock(CID, b"\xa1ab"), DirectDone((CID, CID), 7), Refusal("no")):
        assert decode_server_message(encode_message(message)) == message
    for hello in (Hello("127.0.0.1:4001", (CID,)), Hello(None, ())):
        assert decode_hello(encode_message(hello)) == hello


def test_bytes_are_pinned() -> None:
    # {"v": 1, "cid": ..., "data": ..., "type": "block"}: DAG-CBOR key order (length, then bytes)
    assert encode_message(DirectBlock(CID, b"\x01")) == encode({"v": 1, "type": "block", "cid": CID, "data": b"\x01"})
    # {"v": 1, "type": "hello", "heads": [], "endpoint": null}
    assert encode_message(Hello(None, ())) == bytes.fromhex(
        "a461760164747970656568656c6c6f6568656164738068656e64706f696e74f6"
    )
    assert frame(b"abc") == b"\x00\x00\x00\x03abc"
    assert frame_length(b"\x00\x20\x00\x00") == 2 * 1024 * 1024


def test_hello_topic_is_not_the_database_topic() -> None:
    address = "/orbitdb/" + CID
    assert hello_topic(address) == address + "/orbitstore/hello"


@pytest.mark.parametrize(
    "value",
    [
        {"v": 2, "type": "have", "address": "a", "heads": []},  # unknown version
        {"v": 1, "type": "want", "address": "a", "heads": []},  # unknown type
        {"v": 1, "type": "have", "address": "a"},  # missing field
        {"v": 1, "type": "setup", "address": "a", "heads": []},  # a setup has no heads
        {"v": 1, "type": "setup", "address": ""},  # empty address
        {"v": 1, "type": "have", "address": "a", "heads": [], "x": 1},  # extra field
        {"v": 1, "type": "have", "address": "", "heads": []},  # empty address
        {"v": 1, "type": "have", "address": "a", "heads": [1]},  # head not text
        {"v": 1, "type": "have", "address": "a", "heads": ["not a cid!"]},  # malformed head
        {"v": 1, "type": "have", "address": "a", "heads": [CID] * (MAX_HEADS + 1)},  # too many heads
        ["v", 1],  # not a map
    ],
)
def test_bad_client_messages(value: object) -> None:
    with pytest.raises(DecodeError):
        decode_client_message(encode(value))


@pytest.mark.parametrize(
    "value",
    [
        {"v": 1, "type": "block", "cid": CID, "data": b""},  # empty block
        {"v": 1, "type": "block", "cid": CID, "data": "text"},  # data not bytes
        {"v": 1, "type": "done", "heads": [], "blocks": -1},
        {"v": 1, "type": "done", "heads": [], "blocks": 1.5},
        {"v": 1, "type": "error", "message": 3},
        {"v": 1, "type": "have", "address": "a", "heads": []},  # a client message from a server
    ],
)
def test_bad_server_messages(value: object) -> None:
    with pytest.raises(DecodeError):
        decode_server_message(encode(value))


def test_non_canonical_and_trailing_bytes_are_rejected() -> None:
    good = encode_message(Refusal("no"))
    with pytest.raises(DecodeError):
        decode_server_message(good + b"\x00")
    unsorted = cbor2.dumps({"type": "error", "v": 1, "message": "no"})  # keys out of DAG-CBOR order
    with pytest.raises(DecodeError):
        decode_server_message(unsorted)
    with pytest.raises(DecodeError):
        decode_hello(encode({"v": 1, "type": "hello", "endpoint": "bad endpoint!", "heads": []}))
    with pytest.raises(DecodeError):
        frame_length(b"\x00\x01")
