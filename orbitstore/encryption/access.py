"""Read access to an encrypted dataset: key epochs, reader keys, envelopes and the checks every peer runs.

Epochs. A key epoch starts at a valid ``GRANT read`` with ``rekey`` or at any
valid ``REVOKE read``; it is named by that entry's hash and its key is a fresh
random AES-256 key, sealed (:mod:`~orbitstore.encryption.envelope`) to every
reader of the state in that entry's causal past (after the grant or revoke).
The epochs *current* at a point of the log are the epoch-starting entries in its
causal past that no other epoch-starting entry there has in its own past — one
normally, several after concurrent key changes on forks, in which case records
are sealed under the key combined from all of them
(:func:`~orbitstore.encryption.sealing.combine_keys`).

A plain ``GRANT read`` (no ``rekey``) gives the new reader the current epochs'
keys, and those of earlier epochs its granter holds, so it can read the
dataset's history. A granter who lacks a current key starts a new epoch instead.

Everything here that decides validity is structural — which epochs, which
readers get envelopes — so every peer, with or without keys, reaches the same
verdict; only key holders can open envelopes and records.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import cbor2
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from orbitstore.codec import CID
from orbitstore.encryption.envelope import Envelope, open_envelope, seal_envelope
from orbitstore.encryption.reader_key import ReaderKey
from orbitstore.encryption.records import SealedRecord, cbor_text, cbor_text_head, seal_row
from orbitstore.encryption.rowcheck import RowReader, row_reader
from orbitstore.encryption.sealing import RecordSealer, combine_keys, new_epoch_key, record_context
from orbitstore.errors import DatabaseError, DecodeError, EncryptionError, NotAuthorizedToRead

if TYPE_CHECKING:
    from orbitstore.databases.dataset.acl import CausalAcl, Node
    from orbitstore.databases.dataset.ops import Op
    from orbitstore.databases.dataset.schema import Schema
    from orbitstore.identities import Identities

__all__ = ["ReadAccess", "ReaderKeyLoader", "check_reader_key"]

#: Loads a reader-key block by CID (the dataset's block store); raises when it cannot.
ReaderKeyLoader = Callable[[str], Awaitable[ReaderKey]]

_GRANT, _REVOKE, _READ = "GRANT", "REVOKE", "read"


def _starts_epoch(op: Op) -> bool:
    return op.kind in (_GRANT, _REVOKE) and op.capability == _READ and op.rekey


async def check_reader_key(block: bytes, op: Op, identities: Identities) -> ReaderKey:
    """Check the reader-key block a ``GRANT read`` links: its CID, signature and that it is the grantee's."""
    assert op.reader is not None
    try:
        key = ReaderKey.decode(block, expected_cid=op.reader)
    except DecodeError as exc:
        raise DatabaseError(f"GRANT read to {op.subject[:16]}…: {exc}") from None
    if key.id != op.subject:
        raise DatabaseError(f"GRANT read to {op.subject[:16]}… links the reader key of {key.id[:16]}…")
    await key.verify(identities)
    return key


class ReadAccess:
    """The read-access state of one node for one encrypted dataset (see the module docstring).

    ``acl`` is the dataset's causal index; ``private_key`` this node's X25519 key
    (``None``: a relay that holds no keys). ``keys`` maps epoch → key for every
    envelope sealed to this identity that it has seen.
    """

    def __init__(self, *, address: str, identity_id: str, private_key: X25519PrivateKey | None, acl: CausalAcl) -> None:
        self.address = address
        self.identity_id = identity_id
        self.keys: dict[str, bytes] = {}
        self._private = private_key
        self._acl = acl
        self._memo: dict[frozenset[str], tuple[str, ...]] = {}
        self._memo_version = acl.version
        self._sealers: dict[tuple[str, ...] | str, _EpochCipher] = {}
        self._readers: dict[int, tuple[Schema, RowReader]] = {}

    @classmethod
    def from_nodes(
        cls,
        *,
        address: str,
        identity_id: str,
        private_key: X25519PrivateKey | None,
        acl: CausalAcl,
        nodes: Iterable[Node],
    ) -> ReadAccess:
        """A read-access state that has learnt every envelope in ``nodes`` (e.g. a replayed snapshot)."""
        access = cls(address=address, identity_id=identity_id, private_key=private_key, acl=acl)
        for node in nodes:
            access.learn(node.hash, node.op)
        return access

    # -- epochs and readers (structural: the same on every peer) ---------------------------------

    def _valid_starts(self, past: frozenset[str]) -> list[str]:
        acl = self._acl
        out = []
        for h in past:
            node = acl.get(h)
            if node is not None and acl.valid.get(h, False) and _starts_epoch(node.op):
                out.append(h)
        return out

    def epochs_of(self, past: frozenset[str]) -> tuple[str, ...]:
        """The current epochs (sorted entry hashes) of an entry whose control past is ``past``."""
        if self._memo_version != self._acl.version:
            self._memo.clear()
            self._memo_version = self._acl.version
        got = self._memo.get(past)
        if got is not None:
            return got
        starts = self._valid_starts(past)
        if len(starts) > 1:
            acl = self._acl
            pasts = {h: acl.get(h).past for h in starts}  # type: ignore[union-attr]
            starts = [h for h in starts if not any(h in pasts[o] for o in starts if o != h)]
        got = tuple(sorted(starts))
        self._memo[past] = got
        return got

    def history_of(self, past: frozenset[str]) -> list[str]:
        """Every epoch started in ``past`` (sorted)."""
        return sorted(self._valid_starts(past))

    def readers_of(self, past: frozenset[str]) -> dict[str, str | None]:
        """Reader id → CID of its reader-key block (its latest valid ``GRANT read`` in ``past``)."""
        acl = self._acl
        readers = acl.state_of(past).acl.read
        latest: dict[str, tuple[tuple[int, str, str], str]] = {}
        for h in past:
            node = acl.get(h)
            if node is None or not acl.valid.get(h, False):
                continue
            op = node.op
            if op.kind == _GRANT and op.capability == _READ and op.reader is not None:
                seen = latest.get(op.subject)
                if seen is None or node.order > seen[0]:
                    latest[op.subject] = (node.order, op.reader)
        return {rid: (latest[rid][1] if rid in latest else None) for rid in sorted(readers)}

    # -- checks every peer runs ------------------------------------------------------------------

    def check(self, node: Node) -> None:
        """Check a GRANT/REVOKE read of an encrypted dataset; :class:`DatabaseError` says what is wrong."""
        op = node.op
        if op.capability != _READ or op.kind not in (_GRANT, _REVOKE):
            if op.carries_keys:
                raise DatabaseError(f"entry {node.hash}: only GRANT/REVOKE read carry key envelopes")
            return
        readers = set(self.readers_of(node.past))
        new = [e for e in op.envelopes if e.epoch is None]
        old = [e for e in op.envelopes if e.epoch is not None]
        where = f"entry {node.hash or '(new)'}"
        if op.kind == _REVOKE:
            if not op.rekey or old:
                raise DatabaseError(f"{where}: a REVOKE read must carry the new epoch's key for each remaining reader")
            _same_readers(sorted(e.to for e in new), readers - {op.subject}, where)
            return
        if op.subject == "*":
            raise DatabaseError(f"{where}: an encrypted dataset cannot grant read to '*' (no key to seal to)")
        if op.reader is None:
            raise DatabaseError(f"{where}: GRANT read in an encrypted dataset needs the reader's key and envelopes")
        history = set(self.history_of(node.past))
        for e in old:
            if e.to != op.subject or e.epoch not in history:
                raise DatabaseError(f"{where}: envelope for epoch {e.epoch} is not for the grantee or not an epoch")
        if len({e.epoch for e in old}) != len(old):
            raise DatabaseError(f"{where}: two envelopes for one epoch")
        if op.rekey:
            _same_readers(sorted(e.to for e in new), readers | {op.subject}, where)
            return
        if new:
            raise DatabaseError(f"{where}: a GRANT read without rekey cannot carry a new epoch key")
        current = self.epochs_of(node.past)
        if not current:
            raise DatabaseError(f"{where}: the first GRANT read of an encrypted dataset must start an epoch (rekey)")
        missing = set(current) - {e.epoch for e in old}
        if missing:
            raise DatabaseError(f"{where}: GRANT read lacks the key of current epoch(s) {sorted(missing)}")

    def check_record(self, block: bytes, *, link: CID, record_id: str, past: frozenset[str], entry: str) -> None:
        """A record block joined into an encrypted dataset: sealed, for this id, under the current epochs."""
        try:
            sealed = SealedRecord.decode(block, link=link)
        except DecodeError as exc:
            raise DatabaseError(f"entry {entry}: record {record_id!r} is not a sealed record block: {exc}") from None
        if sealed.id != record_id:
            raise DatabaseError(f"entry {entry}: block {link} holds record {sealed.id!r}, not {record_id!r}")
        current = self.epochs_of(past)
        if sealed.epochs != current:
            raise DatabaseError(
                f"entry {entry}: record {record_id!r} is sealed under epochs {list(sealed.epochs)}, "
                f"not the current {list(current)}"
            )

    # -- keys ------------------------------------------------------------------------------------

    def learn(self, entry_hash: str, op: Op) -> None:
        """Open the envelopes of ``op`` (entry ``entry_hash``) sealed to this identity."""
        if self._private is None or not op.envelopes:
            return
        for envelope in op.envelopes:
            if envelope.to != self.identity_id:
                continue
            epoch = envelope.epoch if envelope.epoch is not None else entry_hash
            if epoch in self.keys:
                continue
            try:
                self.keys[epoch] = open_envelope(envelope, self._private, address=self.address)
            except EncryptionError:
                continue  # sealed to another reader key of this identity: not ours to read

    def holds(self, epochs: Iterable[str]) -> bool:
        """True when this node holds every key of ``epochs``."""
        return all(e in self.keys for e in epochs)

    def sealer(self, epochs: tuple[str, ...]) -> RecordSealer:
        """The record cipher of ``epochs``; :class:`NotAuthorizedToRead` without every key."""
        return self._cipher(epochs).sealer

    def _cipher(self, epochs: tuple[str, ...]) -> _EpochCipher:
        got = self._sealers.get(epochs)
        if got is not None:
            return got
        if not epochs:
            raise NotAuthorizedToRead("the dataset has no key epoch yet: an admin must grant read first")
        missing = [e for e in epochs if e not in self.keys]
        if missing:
            raise NotAuthorizedToRead(
                f"identity {self.identity_id[:16]}… holds no key for epoch(s) {missing} of {self.address}"
            )
        got = _EpochCipher(RecordSealer(combine_keys([(e, self.keys[e]) for e in epochs])), self.address, epochs)
        self._sealers[epochs] = got
        if len(epochs) == 1:
            self._sealers[epochs[0]] = got  # open_record's key for one epoch (a text never equals a tuple)
        return got

    def read_row(self, schema: Schema, row: Any) -> dict[str, Any]:
        """Check a decrypted wire row against ``schema`` (the reader-side check) and return it as reads do.

        :class:`SchemaError` names the column and value.
        """
        return self.reader(schema)(row)

    def open_record(self, block: bytes, *, record_id: str) -> dict[str, Any]:
        """Decrypt a sealed record block to its wire row.

        :class:`NotAuthorizedToRead` without the key, :class:`EncryptionError` when
        tampered with or bound to another dataset, id or epochs.
        """
        # Blocks come from this node's store, shape-checked when joined: read the fields directly.
        try:
            value = cbor2.loads(block)
            found, epochs, nonce, sealed = value["id"], value["epochs"], value["nonce"], value["sealed"]
            # One epoch (the common case) is looked up by its hash: no tuple to build and hash.
            cipher = self._sealers.get(epochs[0] if len(epochs) == 1 else tuple(epochs))
        except (KeyError, TypeError, ValueError, IndexError, cbor2.CBORDecodeError):
            raise EncryptionError(f"record {record_id!r}: not a sealed record block") from None
        if found != record_id:
            raise EncryptionError(f"record {record_id!r}: its block holds record {found!r}")
        if cipher is None:
            cipher = self._cipher(tuple(epochs))
        raw = record_id.encode("utf-8")
        n = len(raw)
        context = cipher.head + (bytes((0x60 | n,)) if n < 24 else cbor_text_head(n)) + raw + cipher.tail
        try:
            plain = cipher.decrypt(nonce, sealed, context)
        except InvalidTag:
            raise EncryptionError(
                f"record {record_id!r} does not decrypt: its ciphertext, nonce or associated data "
                "(dataset, id, epochs) was altered"
            ) from None
        except ValueError as exc:  # a nonce of the wrong length
            raise EncryptionError(f"record {record_id!r}: {exc}") from None
        try:
            # Plain cbor2: readers check every value's type against the schema next (read_row).
            row = cbor2.loads(plain)
        except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError) as exc:
            raise EncryptionError(f"record {record_id!r} decrypts to bytes that are not CBOR: {exc}") from None
        if type(row) is not dict:
            raise EncryptionError(f"record {record_id!r} decrypts to a {type(row).__name__}, not a row map")
        return row

    def reader(self, schema: Schema) -> RowReader:
        """The fused check-and-read function of ``schema`` (what :meth:`read_row` calls), cached."""
        got = self._readers.get(id(schema))
        if got is None or got[0] is not schema:
            got = self._readers[id(schema)] = (schema, row_reader(schema))
        return got[1]

    def seal(self, epochs: tuple[str, ...], record_id: str, wire_row: dict[str, Any]) -> tuple[str, CID, bytes]:
        """Seal a checked wire row under ``epochs`` (:class:`NotAuthorizedToRead` without their keys)."""
        cipher = self._sealers.get(epochs) or self._cipher(epochs)
        return seal_row(
            cipher.sealer,
            address=self.address,
            record_id=record_id,
            epochs=epochs,
            wire_row=wire_row,
            context=cipher.head + cbor_text(record_id) + cipher.tail,
        )

    # -- building GRANT / REVOKE read --------------------------------------------------------------

    async def grant_envelopes(
        self, past: frozenset[str], subject: ReaderKey, load: ReaderKeyLoader
    ) -> tuple[list[Envelope], bool]:
        """Envelopes for a ``GRANT read`` to ``subject`` written at ``past``, and whether it rekeys.

        The grantee gets every epoch key this node holds; when this node lacks a
        current key (or there is no epoch yet) a new epoch starts, sealed to every reader.
        """
        envelopes = [
            seal_envelope(self.keys[e], recipient=subject.key, to=subject.id, epoch=e, address=self.address)
            for e in self.history_of(past)
            if e in self.keys
        ]
        current = self.epochs_of(past)
        if current and self.holds(current):
            return envelopes, False
        readers = {rid: cid for rid, cid in self.readers_of(past).items() if rid != subject.id}
        envelopes += await self._new_epoch(readers, load, extra=subject)
        return envelopes, True

    async def revoke_envelopes(self, past: frozenset[str], subject: str, load: ReaderKeyLoader) -> list[Envelope]:
        """The new epoch's envelopes for a ``REVOKE read`` of ``subject``: every remaining reader."""
        readers = {rid: cid for rid, cid in self.readers_of(past).items() if rid != subject}
        return await self._new_epoch(readers, load)

    async def _new_epoch(
        self, readers: dict[str, str | None], load: ReaderKeyLoader, *, extra: ReaderKey | None = None
    ) -> list[Envelope]:
        key = new_epoch_key()
        out: list[Envelope] = []
        for rid, cid in readers.items():
            if cid is None:
                raise DatabaseError(f"reader {rid[:16]}… has no reader key on record: grant it read again")
            reader = await load(cid)
            out.append(seal_envelope(key, recipient=reader.key, to=rid, epoch=None, address=self.address))
        if extra is not None:
            out.append(seal_envelope(key, recipient=extra.key, to=extra.id, epoch=None, address=self.address))
        return out


_ID_AT = 7  # a4 | 61 76 01 | 62 69 64 | <id text> …: the id's CBOR text starts at byte 7


class _EpochCipher:
    """The cipher of one set of epochs, with the bytes of :func:`record_context` around the record id."""

    __slots__ = ("decrypt", "head", "sealer", "tail")

    def __init__(self, sealer: RecordSealer, address: str, epochs: tuple[str, ...]) -> None:
        probe = record_context(address, "", epochs)
        self.sealer = sealer
        self.decrypt = sealer.decrypt
        self.head = probe[:_ID_AT]
        self.tail = probe[_ID_AT + 1 :]  # after the empty id's one-byte head


def _same_readers(got: list[str], want: set[str], where: str) -> None:
    if got != sorted(want):
        raise DatabaseError(f"{where}: the new epoch key must be sealed once to each reader {sorted(want)}, not {got}")
