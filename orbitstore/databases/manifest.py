"""Database manifests and ``/orbitdb/<cid>`` addresses, exactly as OrbitDB writes them (spec §6)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orbitstore.codec import CID, DAG_CBOR, block_cid, decode, encode
from orbitstore.errors import CIDError, DatabaseError, DecodeError

__all__ = ["Address", "Manifest"]

_MISSING = object()


@dataclass(frozen=True, slots=True)
class Address:
    """A database address: ``/orbitdb/<base58btc CID of the manifest>``."""

    manifest_hash: str

    @classmethod
    def parse(cls, text: str) -> Address:
        """Parse ``/orbitdb/zdpu…`` (also ``\\orbitdb\\…`` and a bare ``zdpu…``); :class:`DatabaseError` if invalid."""
        if not isinstance(text, str) or not text:
            raise DatabaseError("a database address must be a non-empty string")
        body = text.replace("\\", "/")
        if body.startswith("/orbitdb/"):
            body = body[len("/orbitdb/") :]
        body = body.strip("/")
        try:
            cid = CID.parse(body)
        except CIDError as exc:
            raise DatabaseError(f"not an OrbitDB address: {text!r} ({exc})") from None
        if cid.version != 1 or cid.codec != DAG_CBOR:
            raise DatabaseError(f"not an OrbitDB address: {text!r} (manifest must be a dag-cbor CIDv1)")
        return cls(cid.encode())

    @staticmethod
    def is_valid(text: str) -> bool:
        """True when ``text`` parses as an address."""
        try:
            Address.parse(text)
        except DatabaseError:
            return False
        return True

    def __str__(self) -> str:
        return f"/orbitdb/{self.manifest_hash}"


@dataclass(frozen=True, slots=True)
class Manifest:
    """``{name, type, accessController[, meta]}``; ``meta`` is absent (not null) unless given."""

    name: str
    type: str
    access_controller: str
    meta: Any = _MISSING

    @property
    def has_meta(self) -> bool:
        """True when the manifest carries a ``meta`` value."""
        return self.meta is not _MISSING

    def to_dict(self) -> dict[str, Any]:
        """The manifest map as stored."""
        out: dict[str, Any] = {"name": self.name, "type": self.type, "accessController": self.access_controller}
        if self.has_meta:
            out["meta"] = self.meta
        return out

    def encode(self) -> bytes:
        """The DAG-CBOR manifest block."""
        return encode(self.to_dict())

    @property
    def hash(self) -> str:
        """The manifest block's CID string."""
        return block_cid(self.encode())

    @property
    def address(self) -> Address:
        """The database address this manifest defines."""
        return Address(self.hash)

    @property
    def access_controller_type(self) -> str:
        """The first path segment of ``accessController`` (``ipfs``, ``orbitdb``, ``dataset``…)."""
        parts = [p for p in self.access_controller.split("/") if p]
        if len(parts) < 2:
            raise DatabaseError(f"manifest access controller {self.access_controller!r} has no type")
        return parts[0]

    @classmethod
    def decode(cls, block: bytes) -> Manifest:
        """Decode and check a manifest block."""
        try:
            value = decode(block)
        except DecodeError as exc:
            raise DatabaseError(f"manifest block is not DAG-CBOR: {exc}") from None
        if not isinstance(value, dict) or not {"name", "type", "accessController"} <= value.keys():
            raise DatabaseError("a manifest needs name, type and accessController")
        extra = value.keys() - {"name", "type", "accessController", "meta"}
        if extra:
            raise DatabaseError(f"manifest has unexpected fields {sorted(extra)}")
        for field in ("name", "type", "accessController"):
            if not isinstance(value[field], str):
                raise DatabaseError(f"manifest field {field!r} must be text")
        return cls(value["name"], value["type"], value["accessController"], value.get("meta", _MISSING))
