"""Translate Kubo RPC failures into orbitstore's error tree.

Kubo answers a failed command with HTTP 500 (or 400 for bad arguments) and a
JSON body ``{"Message": ..., "Code": ..., "Type": "error"}``. The message text
is the only thing that tells a missing block from a bad CID, so the mapping
below matches on it; anything unrecognised stays a :class:`KuboError`.
"""

from __future__ import annotations

import json

from orbitstore.errors import CIDError, KuboError, NotFound, OrbitStoreError, StorageTimeout

__all__ = ["error_from_response", "parse_error_message"]

_TIMEOUT_MARKERS = ("context deadline exceeded", "i/o timeout")
_NOT_FOUND_MARKERS = (
    "block was not found locally",
    "ipld: could not find",
    "not found locally",
    "blockservice: key not found",
    "is not pinned",
    "not pinned or pinned indirectly",
    "was not recursively pinned",
)
_CID_MARKERS = (
    "invalid cid",
    "invalid path",
    "selected encoding not supported",
    "cid too short",
    "varint",
    "failed to decode",
    "illegal base32 data",
    "multibase",
    "multihash",
)


def parse_error_message(body: bytes) -> str:
    """Return Kubo's error ``Message`` from a response body, or the body text itself."""
    text = body.decode("utf-8", "replace").strip()
    try:
        decoded = json.loads(text)
    except ValueError:
        return text or "(empty error response)"
    if isinstance(decoded, dict):
        message = decoded.get("Message")
        if isinstance(message, str) and message:
            return message
    return text


def error_from_response(command: str, status: int, body: bytes) -> OrbitStoreError:
    """Build the orbitstore error for a failed ``command`` (e.g. ``"block/get"``)."""
    message = parse_error_message(body)
    lowered = message.lower()
    described = f"Kubo {command} failed (HTTP {status}): {message}"
    if any(marker in lowered for marker in _TIMEOUT_MARKERS):
        return StorageTimeout(described)
    if any(marker in lowered for marker in _NOT_FOUND_MARKERS):
        return NotFound(described)
    if any(marker in lowered for marker in _CID_MARKERS):
        return CIDError(described)
    return KuboError(described)
