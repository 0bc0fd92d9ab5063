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
"""

from __future__ import annotations

import asyncio
import csv
import inspect
import secrets
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orbitstore.codec import CID
from orbitstore.databases.base import Database, Update
from orbitstore.databases.dataset import csvio
from orbitstore.databases.dataset.acl import AclState, Node
from orbitstore.databases.dataset.index import DatasetIndex, LiveRecord
from orbitstore.databases.dataset.ops import (
    ANCHOR,
    CAPABILITIES,
    DEL,
    ERASE,
    GRANT,
    PUT,
    PUTS,
    REVOKE,
    SCHEMA,
    Op,
    anchor_payload,
    check_record_id,
    del_payload,
    erase_payload,
    grant_payload,
    parse_op,
    put_payload,
    puts_payload,
    revoke_payload,
    schema_payload,
)
from orbitstore.databases.dataset.records import Record, RecordBlock, decode_record, encode_record
from orbitstore.databases.dataset.schema import Schema
from orbitstore.databases.dataset.snapshot import Snapshot, count_present, snapshot_block, write_table
from orbitstore.encryption.access import ReadAccess, check_reader_key
from orbitstore.encryption.reader_key import ReaderKey, reader_private_key
from orbitstore.errors import DatabaseError, DecodeError, NotFound, SchemaError
from orbitstore.identities import Identity
from orbitstore.log import BlockFetcher, Entry

__all__ = ["DEFAULT_IMPORT_BATCH", "Dataset", "Progress"]

#: Records per PUTS entry when importing (one signature per batch).
DEFAULT_IMPORT_BATCH = 1000
_FETCH_CONCURRENCY = 32

#: ``progress(done, total)`` after each batch; ``total`` is ``None`` when unknown. May be async.
Progress = Callable[[int, int | None], Awaitable[None] | None]
_Built = tuple[dict[str, Any], Op, list[RecordBlock]]
#: Encodes one checked wire row as a record block (plaintext, or sealed in an encrypted dataset).
RecordEncoder = Callable[[str, dict[str, Any]], RecordBlock]


@dataclass(frozen=True, slots=True)
class _Context:
    """What an operation is built against: the state at this node's heads."""

    schema: Schema | None
    heads: tuple[str, ...]
    past: frozenset[str]
    encode: RecordEncoder


_Build = Callable[[_Context], _Built | Awaitable[_Built]]


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
        for key in self._index.erased():  # idempotent: finishes an erasure interrupted by a crash
            await self.store.blocks.delete(key)

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
        assert node.op.reader is not None
        block = await self._load(node.op.reader)
        if block is None:
            return  # not replicated: accepted; a later rekey needs it and says so
        identity = await self._load_identity_hash(block)
        if identity is not None and await self.store.identities.storage.get(identity) is None:
            got = await self._load(identity)
            if got is not None:
                await self.store.identities.add_identity_block(got)
        await check_reader_key(block, node.op, self.store.identities)
        self._staged[node.op.reader] = block

    @staticmethod
    async def _load_identity_hash(block: bytes) -> str | None:
        try:
            return ReaderKey.decode(block).identity
        except DecodeError:
            return None  # check_reader_key reports the malformed block

    def _check_erase(self, node: Node) -> None:
        """An ERASE must name exactly the blocks that held its record in its causal past."""
        (record_id, _), *_ = node.op.records
        want = sorted(self._record_blocks(record_id, node.next))
        if list(node.op.erased) != want:
            raise DatabaseError(
                f"ERASE {node.hash or '(new)'} of {record_id!r} names blocks {list(node.op.erased)}, "
                f"but its causal past holds {want}"
            )

    def _record_blocks(self, record_id: str, roots: Iterable[str]) -> set[str]:
        """Every block any entry reachable from ``roots`` wrote for ``record_id`` (valid or not)."""
        acl = self._index.acl
        seen: set[str] = set()
        out: set[str] = set()
        stack = list(roots)
        while stack:
            h = stack.pop()
            if h in seen:
                continue
            seen.add(h)
            node = acl.get(h)
            if node is None:
                continue
            for rid, key in node.op.records:
                if rid == record_id and key is not None and node.op.kind in (PUT, PUTS):
                    out.add(key)
            stack.extend(node.next)
        return out

    async def _check_records(self, node: Node) -> None:
        """Fetch and validate a joined entry's record blocks against the schema of its causal past."""
        schema = self._index.acl.state_of(node.past).schema
        if schema is None:
            raise SchemaError(f"entry {node.hash} writes records before the dataset has a schema")
        sem = asyncio.Semaphore(_FETCH_CONCURRENCY)
        index = self._index

        async def load(key: str) -> bytes | None:
            if index.is_erased(key):
                return None  # erased here: never fetched or stored again
            async with sem:
                return await self._load(key)

        pairs = [(rid, key) for rid, key in node.op.records if key is not None]
        blocks = await asyncio.gather(*(load(key) for _, key in pairs))
        read = self._read
        for (record_id, key), block in zip(pairs, blocks, strict=True):
            if block is None:
                continue  # erased or not replicated: accepted, read as missing
            if read is not None:
                # Sealed: every peer checks the shape and epochs; readers check the schema when they read.
                read.check_record(block, link=CID.parse(key), record_id=record_id, past=node.past, entry=node.hash)
                self._staged[key] = block
                continue
            found_id, row = decode_record(block, link=CID.parse(key))
            if found_id != record_id:
                raise DatabaseError(f"entry {node.hash}: block {key} holds record {found_id!r}, not {record_id!r}")
            try:
                schema.check_wire_row(row)
            except SchemaError as exc:
                raise SchemaError(f"record {record_id!r} (entry {node.hash}) breaks the schema: {exc}") from None
            self._staged[key] = block

    async def _apply(self, entries: list[Entry]) -> None:
        for key, block in self._staged.items():
            if not self._index.is_erased(key):
                await self.store.blocks.put(key, block)
        self._staged.clear()
        self._index.commit(e.hash for e in entries)
        await self._after_commit(entries)

    async def _after_commit(self, entries: Iterable[Entry]) -> None:
        """Learn the keys sealed to this node; delete the blocks a new valid ERASE names."""
        acl = self._index.acl
        erased = False
        for entry in entries:
            node = acl.nodes.get(entry.hash)
            if node is None:
                continue
            if self._read is not None and node.op.envelopes:
                self._read.learn(entry.hash, node.op)
            if node.op.kind == ERASE and acl.valid.get(entry.hash, False):
                for key in node.op.erased:
                    await self.store.blocks.delete(key)
                erased = True
        if erased:
            await self.store.blocks.sync()

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

    async def _append(self, build: _Build) -> Entry:
        """Check access and validate (``build``) against the state at the heads, then sign and append."""
        self._check_open()
        async with self._lock:
            acl = self._index.acl
            heads = tuple(h.hash for h in await self.log.heads())
            past = acl.past_of(heads)
            state = acl.state_of(past)
            built = build(_Context(state.schema, heads, past, self._encoder(past)))
            payload, op, blocks = await built if inspect.isawaitable(built) else built
            probe = Node("", self.identity.id, 0, self.identity.public_key, heads, op, past)
            verdict = acl.evaluate(probe)
            if verdict is not None:
                raise verdict.exception()
            if self._read is not None:
                self._read.check(probe)
            if op.kind == ERASE:
                self._check_erase(probe)
            put = self.store.blocks.put
            for block in blocks:
                await put(block.key, block.bytes)
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
        read = self._read
        if read is None:
            return encode_record
        epochs = read.epochs_of(past)

        def seal(record_id: str, wire_row: dict[str, Any]) -> RecordBlock:
            return RecordBlock(*read.seal(epochs, record_id, wire_row))

        return seal

    async def _ensure_epoch(self) -> None:
        """Bootstrap an encrypted dataset: the first record write by an admin grants it read (epoch 1)."""
        read = self._read
        if read is None:
            return
        acl = self._index.acl
        past = acl.past_of(h.hash for h in await self.log.heads())
        if read.epochs_of(past) or not acl.state_of(past).acl.allows("admin", self.identity.id):
            return
        await self.grant("read", self.identity.id)

    async def set_schema(self, schema: Schema | Mapping[str, Any], *, target: str | None = None) -> Schema:
        """Set or evolve the schema (admins only); returns it. ``schema`` may be a :meth:`Schema.of` map.

        Evolution may only append nullable columns or change the target:
        anything else raises :class:`SchemaError` and writes nothing.
        """
        new = schema if isinstance(schema, Schema) else Schema.of(schema, target=target)
        if target is not None and new.target != target:
            new = Schema(new.columns, target)

        def build(ctx: _Context) -> _Built:
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

        def build(ctx: _Context) -> _Built:
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
        check_record_id(record_id)

        def build(ctx: _Context) -> _Built:
            blocks = sorted(self._record_blocks(record_id, ctx.heads))
            op = Op(ERASE, records=((record_id, None),), erased=tuple(blocks))
            return erase_payload(record_id, blocks), op, []

        return (await self._append(build)).hash

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
        if batch_size < 1:
            raise DatabaseError("batch_size must be positive")
        prefix = secrets.token_hex(8)
        done = 0
        batch: list[tuple[str, Mapping[str, Any]]] = []

        async def flush() -> None:
            nonlocal done
            await self._write_rows(batch, base=done, wire=False)
            done += len(batch)
            batch.clear()
            await _report(progress, done, total)

        async for row in _aiter(rows):
            if id_column is not None:
                if not isinstance(row, Mapping) or row.get(id_column) is None:
                    raise SchemaError(f"row {done + len(batch)}: no value in id column {id_column!r}")
                record_id = str(row[id_column])
            else:
                record_id = f"{prefix}-{done + len(batch):08d}"
            batch.append((record_id, row))
            if len(batch) >= batch_size:
                await flush()
        if batch:
            await flush()
        return done

    async def _write_rows(self, batch: Sequence[tuple[str, Any]], *, base: int, wire: bool) -> None:
        """One PUTS entry for ``batch``; rows are Python rows, or wire rows already checked when ``wire``."""
        pairs = list(batch)

        def build(ctx: _Context) -> _Built:
            schema = ctx.schema
            if schema is None:
                raise SchemaError("the dataset has no schema yet: set one with set_schema() or pass schema=")
            blocks: list[RecordBlock] = []
            check = schema.check_row
            encode = ctx.encode
            for i, (record_id, row) in enumerate(pairs):
                try:
                    check_record_id(record_id)
                    blocks.append(encode(record_id, row if wire else check(row)))
                except SchemaError as exc:
                    raise SchemaError(f"row {base + i} (record {record_id!r}): {exc}") from None
            ids = [rid for rid, _ in pairs]
            payload = puts_payload([(rid, b.link) for rid, b in zip(ids, blocks, strict=True)])
            op = Op(PUTS, records=tuple((rid, b.key) for rid, b in zip(ids, blocks, strict=True)))
            return payload, op, blocks

        await self._ensure_epoch()
        await self._append(build)

    async def grant(self, capability: str, identity_id: str, *, reader_key: ReaderKey | str | None = None) -> str:
        """Give ``capability`` (``write``, ``admin`` or ``read``) to ``identity_id`` (admins only).

        In an encrypted dataset a ``read`` grant seals the dataset's keys to the
        reader's X25519 key: ``reader_key`` is the :class:`ReaderKey` the reader
        published (``await reader_db.reader_key()``) or the CID of its block in this
        store; it may be left out when granting to this node's own identity.
        """
        _check_capability(capability)
        read = self._read
        if capability != "read" or read is None:
            if reader_key is not None:
                raise DatabaseError("reader_key is for read grants in an encrypted dataset")
            entry = await self._append(
                lambda _c: (
                    grant_payload(capability, identity_id),
                    Op(GRANT, capability=capability, subject=identity_id),
                    [],
                )
            )
            return entry.hash
        if identity_id == "*":
            raise DatabaseError("an encrypted dataset cannot grant read to '*': there is no key to seal to")
        subject = await self._reader_key_for(identity_id, reader_key)

        async def build(ctx: _Context) -> _Built:
            envelopes, rekey = await read.grant_envelopes(ctx.past, subject, self._stored_reader_key)
            payload = grant_payload("read", identity_id, reader=subject.cid, envelopes=envelopes, rekey=rekey)
            op = Op(
                GRANT,
                capability="read",
                subject=identity_id,
                reader=subject.cid,
                envelopes=tuple(envelopes),
                rekey=rekey,
            )
            return payload, op, [RecordBlock(subject.cid, subject.link, subject.bytes)]

        return (await self._append(build)).hash

    async def reader_key(self) -> ReaderKey:
        """This node's published X25519 reader key: hand it to an admin to be granted read."""
        key = await ReaderKey.create(self.store.identities, self.identity)
        await self.store.blocks.put(key.cid, key.bytes)
        return key

    async def _reader_key_for(self, identity_id: str, given: ReaderKey | str | None) -> ReaderKey:
        if given is None:
            if identity_id != self.identity.id:
                raise DatabaseError("granting read in an encrypted dataset needs the reader's key: reader_key=")
            return await self.reader_key()
        if isinstance(given, str):
            key = await self._stored_reader_key(given)
        else:
            key = ReaderKey.decode(given.bytes, expected_cid=given.cid)
            if given.identity_block is not None and await self.store.identities.storage.get(key.identity) is None:
                await self.store.identities.add_identity_block(given.identity_block)
        if key.id != identity_id:
            raise DatabaseError(f"reader key {key.cid} belongs to {key.id[:16]}…, not {identity_id[:16]}…")
        await key.verify(self.store.identities)
        return key

    async def _stored_reader_key(self, cid: str) -> ReaderKey:
        block = await self.store.blocks.get(cid)
        if block is None:
            raise NotFound(f"reader-key block {cid} is not in this store")
        return ReaderKey.decode(block, expected_cid=cid)

    async def revoke(self, capability: str, identity_id: str, *, accept: Sequence[str] | None = None) -> str:
        """Take ``capability`` from ``identity_id`` (admins only).

        For ``write``/``admin`` the REVOKE names the heads of that identity it still
        accepts: by default its latest entries known here, or the entry hashes in
        ``accept``. Its entries not below those heads — on forks made before the
        revoke — become invalid, wherever they arrive.
        """
        _check_capability(capability)
        heads: list[str] = []
        if capability in ("write", "admin") and identity_id != "*":
            heads = list(accept) if accept is not None else self._latest_of(identity_id)
        read = self._read
        if capability != "read" or read is None:
            entry = await self._append(
                lambda _c: (
                    revoke_payload(capability, identity_id, heads),
                    Op(REVOKE, capability=capability, subject=identity_id, heads=tuple(sorted(heads))),
                    [],
                )
            )
            return entry.hash

        async def build(ctx: _Context) -> _Built:
            # A new epoch: its key goes to every remaining reader, never to the revoked one.
            envelopes = await read.revoke_envelopes(ctx.past, identity_id, self._stored_reader_key)
            payload = revoke_payload("read", identity_id, [], envelopes=envelopes)
            op = Op(REVOKE, capability="read", subject=identity_id, envelopes=tuple(envelopes), rekey=True)
            return payload, op, []

        return (await self._append(build)).hash

    def _latest_of(self, identity_id: str) -> list[str]:
        """The maximal entries written by ``identity_id`` (none of them is an ancestor of another)."""
        acl = self._index.acl
        mine = [n for n in acl.nodes.values() if n.writer == identity_id]
        below: set[str] = set()
        for node in sorted(mine, key=lambda n: n.order, reverse=True):
            if node.hash in below:
                continue
            below.update(h for h in acl.ancestors(node.next))
        return sorted(n.hash for n in mine if n.hash not in below)

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
        read = self._read
        if read is None:
            row = decode_record(block, strict=False)[1]
            return schema.read_row(row) if schema is not None else dict(row)
        acl = self._index.acl
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
        from orbitstore.databases.dataset.snapshot import open_snapshot

        self._check_open()
        async with self._lock:
            acl = self._index.acl
            heads, entries = acl.effective_heads(h.hash for h in await self.log.heads())
            index = self._index
            if acl.invalid():
                index = DatasetIndex(acl.genesis.acl)
                keep = acl.ancestors(heads)
                index.load(sorted(keep.values(), key=lambda n: n.order))
            schema = index.state().schema
            live: list[LiveRecord] = index.live()
            table: str | None = None
            if schema is not None and materialize and self._read is None:
                table, records, missing = await write_table(self.store.blocks, live, schema)
            else:
                records, missing = await count_present(self.store.blocks, live)
            block = snapshot_block(
                address=str(self.address),
                heads=heads,
                entries=entries,
                records=records,
                schema=schema,
                table=table,
                missing=missing,
            )
            from orbitstore.codec import block_cid

            cid = block_cid(block)
            await self.store.blocks.put(cid, block)
            await self.store.blocks.sync()
        return await open_snapshot(self.store, cid)

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
        with csvio.csv_reader(source, delimiter=delimiter) as reader:
            try:
                header = next(reader)
            except StopIteration:
                raise SchemaError("the CSV file is empty (no header line)") from None
            current = await self.schema()
            lines: list[list[str]] | None = None
            if schema is None and current is None:
                lines = list(reader)
                schema = csvio.infer_schema(header, lines, target=target)
            if schema is not None and (current is None or schema != current):
                await self.set_schema(schema)
            active = await self.schema()
            assert active is not None
            return await self._import_lines(
                header,
                lines if lines is not None else reader,
                active,
                id_column,
                batch_size,
                progress,
                len(lines) if lines is not None else None,
            )

    async def _import_lines(
        self,
        header: list[str],
        lines: Iterable[list[str]],
        schema: Schema,
        id_column: str | None,
        batch_size: int,
        progress: Progress | None,
        total: int | None,
    ) -> int:
        if batch_size < 1:
            raise DatabaseError("batch_size must be positive")
        for name in header:
            if name not in schema:
                raise SchemaError(f"CSV column {name!r} is not in the schema ({', '.join(schema.names)})")
        if id_column is not None and id_column not in header:
            raise SchemaError(f"id column {id_column!r} is not in the CSV header")
        positions = {name: i for i, name in enumerate(header)}
        slots = [(c.name, positions.get(c.name), csvio.parser_for(c)) for c in schema.wire_columns]
        for c in schema.columns:
            if c.name not in positions and not c.nullable:
                raise SchemaError(f"column {c.name!r} is not nullable but the CSV has no such column")
        id_at = positions[id_column] if id_column is not None else None
        width = len(header)
        prefix = secrets.token_hex(8)
        done = 0
        batch: list[tuple[str, dict[str, Any]]] = []
        for number, fields in enumerate(lines):
            if len(fields) != width:
                if not fields:
                    continue
                raise SchemaError(f"CSV line {number + 2}: {len(fields)} fields, the header has {width}")
            try:
                row = {name: (parse(fields[at]) if at is not None else None) for name, at, parse in slots}
            except SchemaError as exc:
                raise SchemaError(f"CSV line {number + 2}: {exc}") from None
            if id_at is not None:
                record_id = fields[id_at]
                if not record_id:
                    raise SchemaError(f"CSV line {number + 2}: empty id column {id_column!r}")
            else:
                record_id = f"{prefix}-{done + len(batch):08d}"
            batch.append((record_id, row))
            if len(batch) >= batch_size:
                await self._write_rows(batch, base=done, wire=True)
                done += len(batch)
                batch = []
                await _report(progress, done, total)
        if batch:
            await self._write_rows(batch, base=done, wire=True)
            done += len(batch)
            await _report(progress, done, total)
        return done

    async def export_csv(self, target: csvio.CsvSource, *, id_header: str | None = None) -> int:
        """Write every live row to a CSV file (a path or an open text file); returns the row count.

        ``id_header`` adds the record id as a first column under that name.
        """
        schema = await self.schema()
        if schema is None:
            raise SchemaError("the dataset has no schema: nothing to export")
        handle, opened = csvio.open_text_for_write(target)
        try:
            writer = csv.writer(handle, lineterminator="\n")
            columns = schema.columns
            writer.writerow(([id_header] if id_header else []) + list(schema.names))
            count = 0
            async for record in self.records():
                fields = [csvio.format_value(c, record.row[c.name]) for c in columns]
                writer.writerow(([record.id] if id_header else []) + fields)
                count += 1
            return count
        finally:
            if opened:
                handle.close()


def _check_capability(capability: str) -> None:
    if capability not in CAPABILITIES:
        raise DatabaseError(f"unknown capability {capability!r} (known: {', '.join(CAPABILITIES)})")


async def _report(progress: Progress | None, done: int, total: int | None) -> None:
    if progress is None:
        return
    result = progress(done, total)
    if inspect.isawaitable(result):
        await result


async def _aiter(rows: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Any]:
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            yield row
    else:
        for row in rows:
            yield row
