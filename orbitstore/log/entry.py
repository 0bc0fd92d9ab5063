"""Log entries, byte for byte as OrbitDB writes them (spec §1–2).

The stored block is the DAG-CBOR map ``{v, id, key, sig, next, refs, clock,
payload, identity}``; the signature covers the DAG-CBOR bytes of ``{v, id, next,
refs, clock, payload}``. ``hash`` is the base58btc CIDv1 of the block and is not
stored in it.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orbitstore.codec import block_cid, decode, dumps, normalize
from orbitstore.errors import DecodeError, EncodeError, IdentityError, LogError, NotFound, SignatureError
from orbitstore.log.clock import Clock

if TYPE_CHECKING:
    from orbitstore.identities import Identities, Identity

__all__ = ["ENTRY_VERSION", "Entry"]

ENTRY_VERSION = 2
_FIELDS = frozenset(("v", "id", "key", "sig", "next", "refs", "clock", "payload", "identity"))


def _unsigned_bytes(log_id: str, payload: Any, nexts: list[str], refs: list[str], clock: Clock) -> bytes:
    # Keys already in DAG-CBOR order (length first, then bytewise); payload pre-normalized.
    return dumps(
        {
            "v": ENTRY_VERSION,
            "id": log_id,
            "next": nexts,
            "refs": refs,
            "clock": {"id": clock.id, "time": clock.time},
            "payload": payload,
        }
    )


@dataclass(frozen=True, slots=True)
class Entry:
    """One signed log entry. ``bytes`` is the stored block and ``hash`` its CID string."""

    hash: str
    id: str
    payload: Any
    next: tuple[str, ...]
    refs: tuple[str, ...]
    clock: Clock
    key: str
    identity: str
    sig: str
    bytes: builtins.bytes
    v: int = ENTRY_VERSION

    # -- creation -------------------------------------------------------------------------------

    @classmethod
    async def create(
        cls,
        identities: Identities,
        identity: Identity,
        log_id: str,
        payload: Any,
        *,
        clock: Clock | None = None,
        next: list[str] | tuple[str, ...] = (),
        refs: list[str] | tuple[str, ...] = (),
    ) -> Entry:
        """Build and sign an entry. ``clock`` defaults to ``(identity.public_key, 0)`` as in OrbitDB."""
        if not isinstance(log_id, str) or not log_id:
            raise LogError("an entry needs a non-empty text log id")
        if payload is None:
            raise EncodeError("an entry payload cannot be null")
        clock = clock if clock is not None else Clock(identity.public_key, 0)
        if clock.time < 0:
            raise LogError("clock time cannot be negative")
        norm = normalize(payload)
        nexts, references = list(next), list(refs)
        for h in (*nexts, *references):
            if not isinstance(h, str):
                raise EncodeError("next and refs hold text CIDs")
        sig = await identities.sign(identity, _unsigned_bytes(log_id, norm, nexts, references, clock))
        block = dumps(
            {
                "v": ENTRY_VERSION,
                "id": log_id,
                "key": identity.public_key,
                "sig": sig,
                "next": nexts,
                "refs": references,
                "clock": {"id": clock.id, "time": clock.time},
                "payload": norm,
                "identity": identity.hash,
            }
        )
        return cls(
            block_cid(block),
            log_id,
            norm,  # the payload as any reader decodes it (tuples → lists, 3.0 → 3, …)
            tuple(nexts),
            tuple(references),
            clock,
            identity.public_key,
            identity.hash,
            sig,
            block,
        )

    # -- decoding -------------------------------------------------------------------------------

    @classmethod
    def decode(
        cls,
        block: builtins.bytes,
        *,
        strict: bool = True,
        expected_hash: str | None = None,
        trusted_hash: str | None = None,
    ) -> Entry:
        """Decode an entry block. ``strict`` checks canonical DAG-CBOR (always, for peer input).

        ``trusted_hash`` is for blocks read back from this node's own store under that key.

        Raises :class:`DecodeError` for malformed bytes or fields, and
        :class:`~orbitstore.errors.VerifyError` (as ``DecodeError``'s sibling
        ``LogError``) when ``expected_hash`` does not match.
        """
        value = decode(block, strict=strict)
        if trusted_hash is not None and not strict:
            # Our own verified block, read back: skip the field checks (reopen speed).
            try:
                clock = value["clock"]
                return cls(
                    trusted_hash,
                    value["id"],
                    value["payload"],
                    tuple(value["next"]),
                    tuple(value["refs"]),
                    Clock(clock["id"], clock["time"]),
                    value["key"],
                    value["identity"],
                    value["sig"],
                    block,
                )
            except (KeyError, TypeError):
                pass  # not what we stored: fall through to the full checks for a precise error
        if type(value) is not dict:
            raise DecodeError("an entry block must be a map")
        if value.keys() != _FIELDS:
            missing = sorted(_FIELDS - value.keys())
            extra = sorted(value.keys() - _FIELDS)
            raise DecodeError(f"entry fields wrong: missing {missing}, unexpected {extra}")
        if value["v"] != ENTRY_VERSION or type(value["v"]) is not int:
            raise DecodeError(f"unsupported entry version {value['v']!r}")
        for name in ("id", "key", "sig", "identity"):
            if type(value[name]) is not str or not value[name]:
                raise DecodeError(f"entry field {name!r} must be non-empty text")
        nexts, refs = value["next"], value["refs"]
        if type(nexts) is not list or type(refs) is not list:
            raise DecodeError("entry next and refs must be arrays")
        for h in (*nexts, *refs):
            if type(h) is not str or not h:
                raise DecodeError("entry next and refs must hold text CIDs")
        clock = value["clock"]
        if type(clock) is not dict or clock.keys() != {"id", "time"}:
            raise DecodeError("entry clock must be a map of id and time")
        if type(clock["id"]) is not str or type(clock["time"]) is not int or clock["time"] < 0:
            raise DecodeError("entry clock needs a text id and a non-negative integer time")
        if value["payload"] is None:
            raise DecodeError("entry payload cannot be null")
        # trusted_hash: the key our own store keeps the block under; skips re-hashing on reads.
        digest = trusted_hash if trusted_hash is not None else block_cid(bytes(block))
        if expected_hash is not None and digest != expected_hash:
            raise LogError(f"block hashes to {digest}, not {expected_hash}")
        return cls(
            digest,
            value["id"],
            value["payload"],
            tuple(nexts),
            tuple(refs),
            Clock(clock["id"], clock["time"]),
            value["key"],
            value["identity"],
            value["sig"],
            bytes(block),
        )

    # -- views ----------------------------------------------------------------------------------

    def encode(self) -> builtins.bytes:
        """The stored block bytes."""
        return self.bytes

    def signed_bytes(self) -> builtins.bytes:
        """The bytes the signature covers (the six unsigned fields, re-encoded)."""
        return _unsigned_bytes(self.id, normalize(self.payload), list(self.next), list(self.refs), self.clock)

    def to_dict(self) -> dict[str, Any]:
        """The entry as OrbitDB shows it in memory (with ``hash``)."""
        return {
            "hash": self.hash,
            "id": self.id,
            "payload": self.payload,
            "next": list(self.next),
            "refs": list(self.refs),
            "clock": {"id": self.clock.id, "time": self.clock.time},
            "v": self.v,
            "key": self.key,
            "identity": self.identity,
            "sig": self.sig,
        }

    # -- verification ---------------------------------------------------------------------------

    def verify_signature(self, identities: Identities) -> None:
        """Check ``sig`` against ``key`` over the signed bytes; :class:`SignatureError` if it fails."""
        if not identities.verify(self.sig, self.key, self.signed_bytes()):
            raise SignatureError(f"signature of entry {self.hash} does not verify against its key")

    async def verify(self, identities: Identities) -> Identity:
        """Full check of one entry, returning its writer's verified identity.

        1. the signature verifies with ``key``;
        2. the identity block ``identity`` is known and verifies;
        3. ``key == identity.publicKey`` and ``clock.id == key`` — the binding JS OrbitDB forgets.
        """
        self.verify_signature(identities)
        try:
            identity = await identities.get_identity(self.identity)
        except NotFound:
            raise IdentityError(f"entry {self.hash} names unknown identity {self.identity}") from None
        except DecodeError as exc:
            raise IdentityError(f"identity {self.identity} of entry {self.hash} is malformed: {exc}") from None
        if not await identities.verify_identity(identity):
            raise IdentityError(f"identity {self.identity} of entry {self.hash} does not verify")
        if self.key != identity.public_key:
            raise SignatureError(
                f"entry {self.hash} is signed by key {self.key[:16]}… but names identity "
                f"{identity.hash} whose key is {identity.public_key[:16]}…"
            )
        if self.clock.id != self.key:
            raise SignatureError(f"entry {self.hash} has a clock id that is not its writer's key")
        return identity
