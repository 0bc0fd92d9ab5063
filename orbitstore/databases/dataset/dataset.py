"""The ``dataset`` database: schema-checked records, causal access control and anchors in one log.

::

    db = await store.open("patients", type="dataset", access_controller={"type": "dataset"})
    await db.set_schema({"age": "int", "bmi": "float", "sick": "bool"}, target="sick")
    await db.put("p1", {"age": 54, "bmi": 27.1, "sick": False})
    await db.import_csv("more.csv", batch_size=1000)
    snap = await db.snapshot()            # snap.cid is the dataset version

See ``docs/dataset.md`` for the operations, the access rules and the read order,
and ``docs/encryption.md`` for encrypted datasets (``access_controller={"type":
"dataset", "encrypted": True}``: read access by key epochs) and erasure.

This module holds the :class:`Dataset` class: opening, admission of joined
entries, local writes and reads. Its larger operations live in private sibling
modules it delegates to: ``_grants`` (GRANT, REVOKE, ERASE), ``_read_access``
(encryption and reader keys), ``_snapshotting`` (``snapshot()``), ``_csv_ops``
(CSV import and export), ``_bulk`` (``put_many``), ``_admission``
(checking a joined entry's records) and ``_build`` (what an operation is built against).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

from orbitstore.codec import CID
from orbitstore.databases.base import Database, Update
from orbitstore.databases.dataset import _bulk, _csv_ops, _grants, csvio
from orbitstore.databases.dataset._admission import check_records
from orbitstore.databases.dataset._build import (
    DEFAULT_IMPORT_BATCH,
    Build,
    Built,
    Context,
    Progress,
    RecordEncoder,
)
from orbitstore.databases.dataset._erasure import erase_blocks, finish_erasures
from orbitstore.databases.dataset._grants import check_erase, record_blocks
from orbitstore.databases.dataset._read_access import (
    check_granted_reader_key,
    encoder,
    ensure_epoch,
    publish_reader_key,
    read_row,
)
from orbitstore.databases.dataset._snapshotting import take_snapshot
from orbitstore.databases.dataset.acl import AclState, Node
from orbitstore.databases.dataset.index import DatasetIndex, LiveRecord
from orbitstore.databases.dataset.ops import (
    ANCHOR,
    DEL,
    ERASE,
    GRANT,
    PUT,
    PUTS,
    SCHEMA,
    Op,
    anchor_payload,
    check_record_id,
    del_payload,
    parse_op,
    put_payload,
    schema_payload,
)
from orbitstore.databases.dataset.records import Record
from orbitstore.databases.dataset.schema import Schema
from orbitstore.databases.dataset.snapshot import Snapshot, count_present
from orbitstore.encryption.access import ReadAccess
from orbitstore.encryption.reader_key import ReaderKey, reader_private_key
from orbitstore.errors import DatabaseError, NotFound, SchemaError
from orbitstore.identities import Identity
from orbitstore.log import BlockFetcher, Entry
from orbitstore.storage.base import put_many

__all__ = ["DEFAULT_IMPORT_BATCH", "Dataset", "Progress"]


class Dataset(Database):
    """A dataset database. Open with ``store.open(name, type="dataset", access_controller={"type": "dataset"})``."""

    type = "dataset"
    default_access_controller = "dataset"

    async def setup(self) -> None:
        """Check the access controller and rebuild the in-memory index by walking the log once."""
        from orbitstore.access.dataset import DatasetAccessController

        if not isinstance(self.access, DatasetAccessController):
            raise DatabaseError(
                f"dataset {self.address} needs the 'dataset' access controller, not {self.access.type!r}: "
                "open it with access_controller={'type': 'dataset', 'write': [...]}"
            )
        self._index = DatasetIndex(self.access.genesis())
        self._writers: dict[str, str] = {}
        self._fetch: BlockFetcher | None = None
        self._staged: dict[str, bytes] = {}
        self._local: tuple[dict[str, Any], Op] | None = None
        entries = [e async for e in self.log.traverse()]
        entries.sort(key=lambda e: (e.clock.time, e.clock.id, e.hash))
        ops = [parse_op(e.payload) for e in entries]
        writers = [await self._writer(e) for e in entries]
        acl = self._index.acl
        self._index.load(
            acl.node(e.hash, w, e.clock.time, e.clock.id, e.next, op)
            for e, w, op in zip(entries, writers, ops, strict=True)
        )
        #: Keys and epochs of an encrypted dataset; ``None`` when records are plaintext.
        self._read: ReadAccess | None = None
        if self.access.encrypted:
            self._read = ReadAccess.from_nodes(
                address=str(self.address),
                identity_id=self.identity.id,
                private_key=await reader_private_key(self.store.identities.keystore, self.identity),
                acl=acl,
                nodes=acl.nodes.values(),
            )
        await finish_erasures(self)  # an erasure a crash interrupted

    @property
    def encrypted(self) -> bool:
        """True when records are sealed and readable only with a key (docs/encryption.md)."""
        return self._read is not None

    async def _writer(self, entry: Entry) -> str:
        writer = self._writers.get(entry.identity)
        if writer is None:
            writer = (await self.log.identities.get_identity(entry.identity)).id
            self._writers[entry.identity] = writer
        return writer

    # -- admission (called by the access controller for every appended or joined entry) -----------

    async def _admit(self, entry: Entry, identity: Identity) -> bool:
        # While _append holds the lock, the only entry the log can ask about is the one it is appending:
        # its records were validated before signing, and its op is the one we built.
        local = self._local if self._local is not None and entry.key == self.identity.public_key else None
        op = local[1] if local is not None else parse_op(entry.payload)
        acl = self._index.acl
        node = acl.node(entry.hash, identity.id, entry.clock.time, entry.clock.id, entry.next, op)
        verdict = acl.stage(node)
        if verdict is not None:
            raise verdict.exception()
        if self._read is not None:
            self._read.check(node)
        elif op.carries_keys:
            raise DatabaseError(f"entry {node.hash}: key envelopes in a dataset that is not encrypted")
        if op.kind in (PUT, PUTS) and local is None:
            await self._check_records(node)
        elif op.kind == GRANT and op.reader is not None and local is None:
            await self._check_reader_key(node)
        elif op.kind == ERASE:
            self._check_erase(node)
        return True

    async def _load(self, key: str) -> bytes | None:
        """A block from the peer being joined (``fetch``), else from the block store."""
        fetch = self._fetch
        block = await fetch(key) if fetch is not None else None
        return block if block is not None else await self.store.blocks.get(key)

    async def _check_reader_key(self, node: Node) -> None:
        """A joined GRANT read: its reader-key block (when it can be had) must be the grantee's, signed."""
        await check_granted_reader_key(self, node)

    def _check_erase(self, node: Node) -> None:
        """An ERASE must name exactly the blocks that held its record in its causal past."""
        check_erase(self._index.acl, node)

    def _record_blocks(self, record_id: str, roots: Iterable[str]) -> set[str]:
        """Every block any entry reachable from ``roots`` wrote for ``record_id`` (valid or not)."""
        return record_blocks(self._index.acl, record_id, roots)

    async def _check_records(self, node: Node) -> None:
        """Fetch and validate a joined entry's record blocks against the schema of its causal past."""
        await check_records(self, node)

    async def _apply(self, entries: list[Entry]) -> None:
        await put_many(self.store.blocks, [(k, b) for k, b in self._staged.items() if not self._index.is_erased(k)])
        self._staged.clear()
        self._index.commit(e.hash for e in entries)
        await self._after_commit(entries)

    async def _after_commit(self, entries: Iterable[Entry]) -> None:
        """Learn the keys sealed to this node; delete the blocks a new valid ERASE names."""
        acl = self._index.acl
        erased: list[str] = []
        for entry in entries:
            node = acl.nodes.get(entry.hash)
            if node is None:
                continue
            if self._read is not None and node.op.envelopes:
                self._read.learn(entry.hash, node.op)
            if node.op.kind == ERASE and acl.valid.get(entry.hash, False):
                erased += node.op.erased
        if erased:
            await erase_blocks(self, erased)

    async def join_entry(self, entry: Entry, *, fetch: BlockFetcher | None = None) -> list[Entry]:
        """Join a head from a peer with its missing history and record blocks (``fetch`` gets blocks by CID).

        Every new entry is checked causally and its records against the schema
        before anything is stored: :class:`~orbitstore.errors.AccessDenied`
        (naming the writer), :class:`~orbitstore.errors.SchemaError` or
        :class:`~orbitstore.errors.DatabaseError` reject the whole join.
        """
        self._check_open()
        added: list[Entry] = []
        async with self._lock:
            self._fetch = fetch
            try:
                added = await self.log.join_entries(entry, fetch=fetch)
                if added:
                    await self._apply(added)
            finally:
                self._fetch = None
                self._staged.clear()
                self._index.acl.discard()
        if added:
            await self._notify(Update("join", tuple(added)))
        return added

    # -- local writes ----------------------------------------------------------------------------

    async def _append(self, build: Build) -> Entry:
        """Check access and validate (``build``) against the state at the heads, then sign and append."""
        self._check_open()
        async with self._lock:
            acl = self._index.acl
            heads = tuple(h.hash for h in await self.log.heads())
            past = acl.past_of(heads)
            state = acl.state_of(past)
            built = build(Context(state.schema, heads, past, self._encoder(past)))
            payload, op, blocks = await built if inspect.isawaitable(built) else built
            probe = Node("", self.identity.id, 0, self.identity.public_key, heads, op, past)
            verdict = acl.evaluate(probe)
            if verdict is not None:
                raise verdict.exception()
            if self._read is not None:
                self._read.check(probe)
            if op.kind == ERASE:
                self._check_erase(probe)
            await put_many(self.store.blocks, [(block.key, block.bytes) for block in blocks])
            self._local = (payload, op)
            try:
                entry = await self.log.append(payload, references_count=self.references_count)
            except BaseException:
                acl.discard()
                raise
            finally:
                self._local = None
            self._index.commit((entry.hash,))
            await self._after_commit((entry,))
        await self._notify(Update("update", (entry,)))
        return entry

    def _encoder(self, past: frozenset[str]) -> RecordEncoder:
        """How records written at ``past`` are encoded: plaintext, or sealed under the current epochs."""
        return encoder(self, past)

    async def _ensure_epoch(self) -> None:
        """Bootstrap an encrypted dataset: the first record write by an admin grants it read (epoch 1)."""
        await ensure_epoch(self)

    async def set_schema(self, schema: Schema | Mapping[str, Any], *, target: str | None = None) -> Schema:
        """Set or evolve the schema (admins only); returns it. ``schema`` may be a :meth:`Schema.of` map.

        Evolution may only append nullable columns or change the target:
        anything else raises :class:`SchemaError` and writes nothing.
        """
        new = schema if isinstance(schema, Schema) else Schema.of(schema, target=target)
        if target is not None and new.target != target:
            new = Schema(new.columns, target)

        def build(ctx: Context) -> Built:
            if ctx.schema is not None:
                ctx.schema.check_evolution(new)
            return schema_payload(new), Op(SCHEMA, schema=new), []

        await self._append(build)
        return new

    async def add_columns(self, *columns: tuple[str, str], target: str | None = None) -> Schema:
        """Append nullable columns ``(name, type)`` to the current schema."""
        current = await self.schema()
        if current is None:
            raise SchemaError("the dataset has no schema yet: use set_schema")
        return await self.set_schema(current.with_columns((n, t, True) for n, t in columns), target=target)

    async def put(self, record_id: str, row: Mapping[str, Any]) -> str:
        """Store ``row`` under ``record_id`` (validated against the schema); returns the entry hash."""
        check_record_id(record_id)

        def build(ctx: Context) -> Built:
            if ctx.schema is None:
                raise SchemaError("the dataset has no schema yet: set one with set_schema()")
            try:
                block = ctx.encode(record_id, ctx.schema.check_row(row))
            except SchemaError as exc:
                raise SchemaError(f"record {record_id!r}: {exc}") from None
            return put_payload(record_id, block.link), Op(PUT, records=((record_id, block.key),)), [block]

        await self._ensure_epoch()
        return (await self._append(build)).hash

    async def delete(self, record_id: str) -> str:
        """Delete ``record_id`` (a DEL is written even when it is absent); returns the entry hash."""
        check_record_id(record_id)
        entry = await self._append(lambda _c: (del_payload(record_id), Op(DEL, records=((record_id, None),)), []))
        return entry.hash

    async def erase(self, record_id: str) -> str:
        """Erase ``record_id`` (admins only): an ERASE op that deletes it like DEL, and every block that held it.

        The ERASE names every block any entry in its causal past wrote for this
        id; this node and every peer that honours erasure delete those blocks and
        never store them again, while every entry (and so the log's hashes and
        signatures) stays. See docs/encryption.md for what this does not cover.
        """
        return await _grants.erase(self, record_id)

    async def put_many(
        self,
        rows: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]],
        *,
        id_column: str | None = None,
        batch_size: int = DEFAULT_IMPORT_BATCH,
        progress: Progress | None = None,
        total: int | None = None,
    ) -> int:
        """Store many rows, ``batch_size`` per signed PUTS entry; returns how many.

        Record ids come from ``id_column`` (its value as text) or are generated
        (``<random 16 hex>-<row number, 8 digits>``). A row breaking the schema
        raises :class:`SchemaError` naming the row, column and value; the rows of
        that batch are not stored, earlier batches are.
        """
        return await _bulk.put_many(
            self, rows, id_column=id_column, batch_size=batch_size, progress=progress, total=total
        )

    async def grant(self, capability: str, identity_id: str, *, reader_key: ReaderKey | str | None = None) -> str:
        """Give ``capability`` (``write``, ``admin`` or ``read``) to ``identity_id`` (admins only).

        In an encrypted dataset a ``read`` grant seals the dataset's keys to the
        reader's X25519 key: ``reader_key`` is the :class:`ReaderKey` the reader
        published (``await reader_db.reader_key()``) or the CID of its block in this
        store; it may be left out when granting to this node's own identity.
        """
        return await _grants.grant(self, capability, identity_id, reader_key=reader_key)

    async def reader_key(self) -> ReaderKey:
        """This node's published X25519 reader key: hand it to an admin to be granted read."""
        return await publish_reader_key(self)

    async def revoke(self, capability: str, identity_id: str, *, accept: Sequence[str] | None = None) -> str:
        """Take ``capability`` from ``identity_id`` (admins only).

        For ``write``/``admin`` the REVOKE names the heads of that identity it still
        accepts: by default its latest entries known here, or the entry hashes in
        ``accept``. Its entries not below those heads — on forks made before the
        revoke — become invalid, wherever they arrive.
        """
        return await _grants.revoke(self, capability, identity_id, accept=accept)

    async def record_anchor(self, snapshot_cid: str, receipt_cid: str | CID) -> str:
        """Record that snapshot ``snapshot_cid`` was anchored, with a link to its receipt block."""
        receipt = receipt_cid if isinstance(receipt_cid, CID) else CID.parse(receipt_cid)
        CID.parse(snapshot_cid)
        entry = await self._append(
            lambda _c: (
                anchor_payload(snapshot_cid, receipt),
                Op(ANCHOR, subject=snapshot_cid, link=receipt),
                [],
            )
        )
        return entry.hash

    # -- reads -----------------------------------------------------------------------------------

    async def schema(self) -> Schema | None:
        """The current schema (``None`` before the first SCHEMA)."""
        return self._index.state().schema

    async def acl(self) -> AclState:
        """The current capabilities (after every valid GRANT and REVOKE)."""
        return self._index.state().acl

    async def anchors(self) -> dict[str, CID]:
        """Snapshot CID → anchor receipt link."""
        return self._index.anchors()

    async def count(self) -> int:
        """How many records are live (including any whose block is missing here)."""
        return self._index.count()

    async def has(self, record_id: str) -> bool:
        """True when ``record_id`` is live."""
        return self._index.lookup(record_id) is not None

    async def locate(self, record_id: str) -> LiveRecord | None:
        """Where the live record ``record_id`` is: its block key and writing entry (``None``: absent or deleted)."""
        return self._index.winner(record_id)

    async def live(self) -> list[LiveRecord]:
        """Every live record's id, block key and writing entry, in the dataset's order (no block is read)."""
        return list(self._index.live())

    async def get(self, record_id: str) -> dict[str, Any] | None:
        """The row of ``record_id``, or ``None`` when absent or deleted.

        :class:`NotFound` when the record is live but its block is not here (erased or not replicated).
        """
        live = self._index.winner(record_id)
        if live is None:
            return None
        block = await self.store.blocks.get(live.key)
        if block is None:
            raise NotFound(f"record {record_id!r}: its block {live.key} is missing (erased or not replicated)")
        return self._read_row(live, block, await self.schema())

    def _read_row(self, live: LiveRecord, block: bytes, schema: Schema | None) -> dict[str, Any]:
        """A live record's row as reads return it (``schema``: the current one).

        Sealed rows are decrypted and checked here against the schema of the entry
        that wrote them — the reader-side check; plaintext rows were checked at join.
        """
        return read_row(self, live, block, schema)

    async def records(self) -> AsyncIterator[Record]:
        """Every live record in the dataset's order (its last write's place in the log's total order).

        Records whose block is missing here are skipped; :meth:`missing` lists them.
        In an encrypted dataset a node without the key gets :class:`NotAuthorizedToRead`
        (never ciphertext), and altered ciphertext raises :class:`EncryptionError`.
        """
        schema = await self.schema()
        get = self.store.blocks.get
        read_row = self._read_row
        for live in list(self._index.live()):
            block = await get(live.key)
            if block is None:
                continue
            yield Record(live.id, read_row(live, block, schema))

    async def rows(self) -> AsyncIterator[dict[str, Any]]:
        """Every live row (column → value) in the dataset's order."""
        async for record in self.records():
            yield record.row

    async def all(self) -> list[Record]:
        """Every live record, in the dataset's order."""
        return [r async for r in self.records()]

    async def missing(self) -> list[str]:
        """Ids of live records whose block is not in the block store (erased or not yet replicated)."""
        _, missing = await count_present(self.store.blocks, self._index.live())
        return missing

    async def excluded(self) -> list[str]:
        """Hashes of stored entries that are not valid (cut off by a revoke that arrived after them)."""
        return self._index.acl.invalid()

    # -- snapshots -------------------------------------------------------------------------------

    async def snapshot(self, *, materialize: bool = True) -> Snapshot:
        """Freeze the dataset at its current heads; the snapshot's CID is the dataset version.

        With ``materialize`` the snapshot links a columnar table of every row
        (deterministic bytes). Records whose block is missing are left out and
        listed in the snapshot. The same heads give the same CID on any peer.
        An encrypted dataset is never materialized (the table would hold rows in
        clear): its snapshot is read by replaying and decrypting the records.
        """
        return await take_snapshot(self, materialize=materialize)

    # -- CSV -------------------------------------------------------------------------------------

    async def import_csv(
        self,
        source: csvio.CsvSource,
        *,
        schema: Schema | None = None,
        id_column: str | None = None,
        batch_size: int = DEFAULT_IMPORT_BATCH,
        progress: Progress | None = None,
        target: str | None = None,
        delimiter: str = ",",
    ) -> int:
        """Import a CSV file (a path or an open text file) with a header line; returns the row count.

        Without ``schema`` and without a schema on the dataset, one is inferred
        from the whole file (``target`` names its target column) and set first.
        Columns must match the schema's names. See ``docs/dataset.md`` for the
        field syntax; ``progress(done, total)`` is called after every batch.
        """
        return await _csv_ops.import_csv(
            self,
            source,
            schema=schema,
            id_column=id_column,
            batch_size=batch_size,
            progress=progress,
            target=target,
            delimiter=delimiter,
        )

    async def export_csv(self, target: csvio.CsvSource, *, id_header: str | None = None) -> int:
        """Write every live row to a CSV file (a path or an open text file); returns the row count.

        ``id_header`` adds the record id as a first column under that name.
        """
        return await _csv_ops.export_csv(self, target, id_header=id_header)
