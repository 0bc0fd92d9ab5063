"""Log entries, byte for byte as OrbitDB writes them (spec §1–2).

The stored block is the DAG-CBOR map ``{v, id, key, sig, next, refs, clock,
payload, identity}``; the signature covers the DAG-CBOR bytes of ``{v, id, next,
refs, clock, payload}``. ``hash`` is the base58btc CIDv1 of the block and is not
stored in it.

With OrbitDB's encryption option (spec §9, :mod:`orbitstore.encryption`) the
``data`` layer puts the encrypted DAG-CBOR payload in ``payload`` (the signature
covers the ciphertext) and the ``replication`` layer stores the whole block as a
DAG-CBOR byte string of its ciphertext, whose CID is then ``hash``.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from sys import intern  # hashes recur in many entries' next/refs: share one str each
from typing import TYPE_CHECKING, Any

from orbitstore.codec import block_cid, decode, dumps, normalize
from orbitstore.errors import (
    DecodeError,
    EncodeError,
    EncryptionError,
    IdentityError,
    LogError,
    NotFound,
    SignatureError,
)
from orbitstore.log.clock import Clock

if TYPE_CHECKING:
    from orbitstore.encryption.base import Encryption
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
    """One signed log entry. ``bytes`` is the stored block and ``hash`` its CID string.

    With data encryption, ``payload`` is the decrypted payload and
    ``encrypted_payload`` the ciphertext the entry actually holds and signs
    (OrbitDB's ``_payload``); with replication encryption, ``bytes`` is the
    encrypted wrapper block and ``hash`` its CID.
    """

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
    encrypted_payload: builtins.bytes | None = None

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
        encryption: Encryption | None = None,
    ) -> Entry:
        """Build and sign an entry. ``clock`` defaults to ``(identity.public_key, 0)`` as in OrbitDB.

        ``encryption`` applies OrbitDB's two layers (spec §9): ``data`` encrypts the
        payload's DAG-CBOR bytes before signing, ``replication`` the finished block.
        """
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
        data = encryption.data if encryption is not None else None
        replication = encryption.replication if encryption is not None else None
        ciphertext: builtins.bytes | None = None
        if data is not None:
            from orbitstore.encryption.base import encrypt

            ciphertext = await encrypt(data, dumps(norm), what="an entry payload", subject=f" of log {log_id}")
        signed_payload = ciphertext if ciphertext is not None else norm
        sig = await identities.sign(identity, _unsigned_bytes(log_id, signed_payload, nexts, references, clock))
        block = dumps(
            {
                "v": ENTRY_VERSION,
                "id": log_id,
                "key": identity.public_key,
                "sig": sig,
                "next": nexts,
                "refs": references,
                "clock": {"id": clock.id, "time": clock.time},
                "payload": signed_payload,
                "identity": identity.hash,
            }
        )
        if replication is not None:
            from orbitstore.encryption.base import encrypt

            block = dumps(await encrypt(replication, block, what="an entry block", subject=f" of log {log_id}"))
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
            ENTRY_VERSION,
            ciphertext,
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
                    tuple(map(intern, value["next"])),
                    tuple(map(intern, value["refs"])),
                    Clock(intern(clock["id"]), clock["time"]),
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
            Clock(intern(clock["id"]), clock["time"]),
            value["key"],
            value["identity"],
            value["sig"],
            bytes(block),
        )

    @classmethod
    async def open(
        cls,
        block: builtins.bytes,
        *,
        encryption: Encryption | None,
        strict: bool = True,
        expected_hash: str | None = None,
        trusted_hash: str | None = None,
    ) -> Entry:
        """:meth:`decode` with OrbitDB's encryption layers undone (spec §9).

        ``replication``: ``block`` must be a DAG-CBOR byte string; its plaintext is
        the entry block, and the entry's ``hash`` and ``bytes`` stay the wrapper's.
        ``data``: ``payload`` must be bytes; it is decrypted and DAG-CBOR-decoded,
        and the ciphertext is kept in ``encrypted_payload`` for verification.
        Raises :class:`~orbitstore.errors.EncryptionError` when a layer does not
        decrypt, :class:`DecodeError` for malformed bytes.
        """
        if encryption is None:
            return cls.decode(block, strict=strict, expected_hash=expected_hash, trusted_hash=trusted_hash)
        from orbitstore.encryption.base import decrypt

        if trusted_hash is not None and not strict:
            # Our own verified block, read back (the hot path of reads): decode once, construct once.
            try:
                value = decode(block, strict=False)
                if encryption.replication is not None:
                    inner = await decrypt(encryption.replication, value, what="entry ", subject=trusted_hash)
                    value = decode(inner, strict=False)
                payload, ciphertext, clock = value["payload"], None, value["clock"]
                if encryption.data is not None:
                    ciphertext = payload
                    plain = await decrypt(encryption.data, payload, what="the payload of entry ", subject=trusted_hash)
                    payload = decode(plain, strict=False)
                return cls(
                    trusted_hash,
                    value["id"],
                    payload,
                    tuple(map(intern, value["next"])),
                    tuple(map(intern, value["refs"])),
                    Clock(intern(clock["id"]), clock["time"]),
                    value["key"],
                    value["identity"],
                    value["sig"],
                    block,
                    ENTRY_VERSION,
                    ciphertext,
                )
            except (KeyError, TypeError, DecodeError):
                pass  # not what we stored: the full checks below give a precise error
        wrapper: builtins.bytes | None = None
        if encryption.replication is not None:
            sealed = decode(block, strict=strict)
            if type(sealed) is not builtins.bytes:
                raise DecodeError("an entry stored with replication encryption must be a DAG-CBOR byte string")
            digest = trusted_hash if trusted_hash is not None else block_cid(builtins.bytes(block))
            if expected_hash is not None and digest != expected_hash:
                raise LogError(f"block hashes to {digest}, not {expected_hash}")
            wrapper = builtins.bytes(block)
            inner = await decrypt(encryption.replication, sealed, what="entry ", subject=digest)
            entry = cls.decode(inner, strict=strict, trusted_hash=digest)
        else:
            entry = cls.decode(block, strict=strict, expected_hash=expected_hash, trusted_hash=trusted_hash)
        payload, ciphertext = entry.payload, None
        if encryption.data is not None:
            ciphertext = payload
            if type(ciphertext) is not builtins.bytes:
                raise DecodeError(f"entry {entry.hash}: an encrypted payload must be a byte string")
            plain = await decrypt(encryption.data, ciphertext, what="the payload of entry ", subject=entry.hash)
            try:
                payload = decode(plain, strict=strict)
            except DecodeError as exc:
                raise EncryptionError(f"entry {entry.hash}: decrypted payload is not DAG-CBOR: {exc}") from None
            if payload is None:
                raise DecodeError(f"entry {entry.hash}: payload cannot be null")
        e = entry
        stored = wrapper if wrapper is not None else e.bytes
        return cls(e.hash, e.id, payload, e.next, e.refs, e.clock, e.key, e.identity, e.sig, stored, e.v, ciphertext)

    # -- views ----------------------------------------------------------------------------------

    def encode(self) -> builtins.bytes:
        """The stored block bytes."""
        return self.bytes

    def signed_bytes(self) -> builtins.bytes:
        """The bytes the signature covers (the six unsigned fields, re-encoded).

        With data encryption that is the ciphertext payload, as OrbitDB signs it.
        """
        payload = self.encrypted_payload if self.encrypted_payload is not None else normalize(self.payload)
        return _unsigned_bytes(self.id, payload, list(self.next), list(self.refs), self.clock)

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
