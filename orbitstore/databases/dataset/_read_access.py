"""Read access of an encrypted dataset: sealing records, reader keys, opening rows.

Private to :mod:`orbitstore.databases.dataset`. The key epochs and envelopes
themselves are :class:`~orbitstore.encryption.access.ReadAccess`; these
functions wire them to a :class:`~orbitstore.databases.dataset.dataset.Dataset`:
how its writes encode records, the first epoch, checking a joined ``GRANT read``'s
reader-key block, publishing and resolving reader keys, and reading a row
(decrypting and checking a sealed one). See ``docs/encryption.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orbitstore.databases.dataset._build import RecordEncoder
from orbitstore.databases.dataset.acl import Node
from orbitstore.databases.dataset.index import LiveRecord
from orbitstore.databases.dataset.records import RecordBlock, decode_record, encode_record
from orbitstore.databases.dataset.schema import Schema
from orbitstore.encryption.access import check_reader_key
from orbitstore.encryption.reader_key import ReaderKey
from orbitstore.errors import DatabaseError, DecodeError, NotFound, SchemaError

if TYPE_CHECKING:
    from orbitstore.databases.dataset.dataset import Dataset

__all__ = [
    "check_granted_reader_key",
    "encoder",
    "ensure_epoch",
    "load_identity_hash",
    "publish_reader_key",
    "read_row",
    "reader_key_for",
    "stored_reader_key",
]


def encoder(ds: Dataset, past: frozenset[str]) -> RecordEncoder:
    """How records written at ``past`` are encoded: plaintext, or sealed under the current epochs."""
    read = ds._read
    if read is None:
        return encode_record
    epochs = read.epochs_of(past)

    def seal(record_id: str, wire_row: dict[str, Any]) -> RecordBlock:
        return RecordBlock(*read.seal(epochs, record_id, wire_row))

    return seal


async def ensure_epoch(ds: Dataset) -> None:
    """Bootstrap an encrypted dataset: the first record write by an admin grants it read (epoch 1)."""
    read = ds._read
    if read is None:
        return
    acl = ds._index.acl
    past = acl.past_of(h.hash for h in await ds.log.heads())
    if read.epochs_of(past) or not acl.state_of(past).acl.allows("admin", ds.identity.id):
        return
    await ds.grant("read", ds.identity.id)


async def check_granted_reader_key(ds: Dataset, node: Node) -> None:
    """A joined GRANT read: its reader-key block (when it can be had) must be the grantee's, signed."""
    assert node.op.reader is not None
    block = await ds._load(node.op.reader)
    if block is None:
        return  # not replicated: accepted; a later rekey needs it and says so
    identity = await load_identity_hash(block)
    if identity is not None and await ds.store.identities.storage.get(identity) is None:
        got = await ds._load(identity)
        if got is not None:
            await ds.store.identities.add_identity_block(got)
    await check_reader_key(block, node.op, ds.store.identities)
    ds._staged[node.op.reader] = block


async def load_identity_hash(block: bytes) -> str | None:
    """The identity hash a reader-key block names, or ``None`` when it is malformed."""
    try:
        return ReaderKey.decode(block).identity
    except DecodeError:
        return None  # check_reader_key reports the malformed block


def read_row(ds: Dataset, live: LiveRecord, block: bytes, schema: Schema | None) -> dict[str, Any]:
    """A live record's row as reads return it (``schema``: the current one).

    Sealed rows are decrypted and checked here against the schema of the entry
    that wrote them — the reader-side check; plaintext rows were checked at join.
    """
    read = ds._read
    if read is None:
        row = decode_record(block, strict=False)[1]
        return schema.read_row(row) if schema is not None else dict(row)
    acl = ds._index.acl
    node = acl.nodes.get(live.entry)
    written = acl.state_of(node.past).schema if node is not None else None
    if written is None or schema is None:
        raise SchemaError(f"record {live.id!r} was written before the dataset had a schema")
    try:
        wire = read.open_record(block, record_id=live.id)
        checked = read.reader(written)(wire)
        if written is schema:
            return checked
    except SchemaError as exc:
        raise SchemaError(f"record {live.id!r} (entry {live.entry}) breaks the schema: {exc}") from None
    return schema.read_row(wire)


async def publish_reader_key(ds: Dataset) -> ReaderKey:
    """This node's published X25519 reader key: hand it to an admin to be granted read."""
    key = await ReaderKey.create(ds.store.identities, ds.identity)
    await ds.store.blocks.put(key.cid, key.bytes)
    return key


async def reader_key_for(ds: Dataset, identity_id: str, given: ReaderKey | str | None) -> ReaderKey:
    """The verified reader key of ``identity_id``: ``given`` (a key or its block\'s CID), or this node\'s own."""
    if given is None:
        if identity_id != ds.identity.id:
            raise DatabaseError("granting read in an encrypted dataset needs the reader's key: reader_key=")
        return await publish_reader_key(ds)
    if isinstance(given, str):
        key = await stored_reader_key(ds, given)
    else:
        key = ReaderKey.decode(given.bytes, expected_cid=given.cid)
        if given.identity_block is not None and await ds.store.identities.storage.get(key.identity) is None:
            await ds.store.identities.add_identity_block(given.identity_block)
    if key.id != identity_id:
        raise DatabaseError(f"reader key {key.cid} belongs to {key.id[:16]}…, not {identity_id[:16]}…")
    await key.verify(ds.store.identities)
    return key


async def stored_reader_key(ds: Dataset, cid: str) -> ReaderKey:
    """The reader key whose block ``cid`` is in the block store (:class:`NotFound` if it is not)."""
    block = await ds.store.blocks.get(cid)
    if block is None:
        raise NotFound(f"reader-key block {cid} is not in this store")
    return ReaderKey.decode(block, expected_cid=cid)
