"""Argument checks shared by the in-process API (and so by the daemon in front of it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orbitstore.api.errors import InvalidRequest
from orbitstore.codec import CID
from orbitstore.errors import CIDError

__all__ = ["check_access_controller", "check_cid", "check_int", "check_mapping", "check_text"]


def check_text(value: Any, what: str, *, max_length: int = 4096) -> str:
    """``value`` if it is non-empty text of at most ``max_length`` characters."""
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"{what} must be non-empty text")
    if len(value) > max_length:
        raise InvalidRequest(f"{what} is longer than {max_length} characters")
    return value


def check_cid(value: Any, what: str) -> str:
    """``value`` if it is CID text (a malformed one is a bad request, not a missing block)."""
    text = check_text(value, what, max_length=256)
    try:
        CID.parse(text)
    except CIDError as exc:
        raise InvalidRequest(f"{what} must be a CID: {exc}") from None
    return text


def check_int(value: Any, what: str, *, low: int, high: int) -> int:
    """``value`` if it is an integer (not a bool) in ``[low, high]``."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidRequest(f"{what} must be an integer from {low} to {high}")
    return value


def check_mapping(value: Any, what: str) -> Mapping[str, Any]:
    """``value`` if it is a map with text keys."""
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise InvalidRequest(f"{what} must be a map with text keys")
    return value


def check_access_controller(value: Any) -> dict[str, Any] | None:
    """``{"type": str, "write": [ids], "admin": [ids], "encrypted": bool}`` (all optional; ``admin`` and
    ``encrypted`` for datasets) or ``None``."""
    if value is None:
        return None
    spec = dict(check_mapping(value, "access_controller"))
    unknown = spec.keys() - {"type", "write", "admin", "encrypted"}
    if unknown:
        raise InvalidRequest(f"access_controller has unknown fields {sorted(unknown)}")
    if "encrypted" in spec and not isinstance(spec["encrypted"], bool):
        raise InvalidRequest("access_controller.encrypted must be true or false")
    if "type" in spec:
        check_text(spec["type"], "access_controller.type", max_length=64)
    for field in ("write", "admin"):
        ids = spec.get(field)
        if field in spec and (not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids)):
            raise InvalidRequest(f"access_controller.{field} must be a list of identity ids")
    return spec
