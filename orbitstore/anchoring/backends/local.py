"""The local ledger: an append-only, hash-chained, signed file. NOT A PUBLIC CHAIN.

It is the embedded default so that anchoring works with nothing but ``pip
install``; it proves only what one node recorded, to people who trust that node
and its clock. Anyone holding the node's key can rewrite the whole file and
re-sign it; nobody else can change a record without the change being detected.

Layout of ``<directory>/anchors.ledger``: UTF-8 JSON, one object per line.

* Line 1, the header, signed by the node identity's key::

    {"format": "orbitstore-local-ledger/1", "notice": "...NOT A PUBLIC CHAIN...",
     "identity": <identity id>, "key": <public key hex>, "created": <unix s>,
     "sig": <DER hex>, "id": <ledger id: sha256 hex>}

* Then one record per anchored root::

    {"seq": n, "prev": <hash hex of record n-1, or the ledger id>, "root": <hex>,
     "count": <leaves>, "meta": <text>, "time": <unix s>, "sig": <DER hex>, "hash": <hex>}

The signature covers the DAG-CBOR map of the other fields (hashes as bytes;
for the header, the header fields); ``hash`` (and the ledger ``id``) is
``sha256`` of the DAG-CBOR map of those fields plus ``sig``. Every record is
fsynced before :meth:`LocalLedgerBackend.anchor` returns. A last line without
its newline was never acknowledged (a crash mid-write); a writer cuts it off
when it opens the file. Anything else that does not check out — a changed,
removed, re-ordered or inserted record, a broken signature or link — is
reported as tampering, on open and again on every verification.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orbitstore.anchoring.policy import VerifyPolicy, check_confirmations, check_policy
from orbitstore.anchoring.receipt import AnchorFacts
from orbitstore.codec import encode
from orbitstore.errors import AnchorError, ReceiptInvalid
from orbitstore.identities import Identities, Identity
from orbitstore.identities.signing import KeyCache

__all__ = ["LEDGER_FILE", "NOTICE", "LedgerRecord", "LocalLedger", "LocalLedgerBackend"]

LEDGER_FILE = "anchors.ledger"
FORMAT = "orbitstore-local-ledger/1"
NOTICE = (
    "LOCAL LEDGER - NOT A PUBLIC CHAIN. Records are hash-chained and signed by one node's key on that "
    "node's disk: they show what that node recorded and when its clock said so, and prove nothing to "
    "anyone who does not trust that node."
)
_HEADER_FIELDS = frozenset({"format", "notice", "identity", "key", "created", "sig", "id"})
_RECORD_FIELDS = frozenset({"seq", "prev", "root", "count", "meta", "time", "sig", "hash"})


class LedgerTampered(AnchorError):
    """Internal: the ledger file does not check out (reported as AnchorError or ReceiptInvalid)."""


@dataclass(frozen=True, slots=True)
class LedgerRecord:
    """One ledger record: root ``root`` of ``count`` leaves, number ``seq``, chained to ``prev``."""

    seq: int
    prev: bytes
    root: bytes
    count: int
    meta: str
    time: int
    sig: str
    hash: bytes

    def signed_bytes(self) -> bytes:
        """The bytes the signature covers."""
        return _record_body(self.seq, self.prev, self.root, self.count, self.meta, self.time)

    def line(self) -> bytes:
        """The record's line in the ledger file (with its newline)."""
        value = {
            "seq": self.seq,
            "prev": self.prev.hex(),
            "root": self.root.hex(),
            "count": self.count,
            "meta": self.meta,
            "time": self.time,
            "sig": self.sig,
            "hash": self.hash.hex(),
        }
        return _json_line(value)


def _record_body(seq: int, prev: bytes, root: bytes, count: int, meta: str, at: int) -> bytes:
    return encode({"seq": seq, "prev": prev, "root": root, "count": count, "meta": meta, "time": at})


def _with_sig_hash(body: bytes, sig: str) -> bytes:
    # The hash covers the signed body and the signature: a record's hash commits to both.
    return hashlib.sha256(encode({"body": body, "sig": sig})).digest()


def _json_line(value: dict[str, Any]) -> bytes:
    return (json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n").encode()


def _hex32(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or len(value) != 64:
        raise LedgerTampered(f"{what} is not a 32-byte hex string")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise LedgerTampered(f"{what} is not hex") from None
    if raw.hex() != value:
        raise LedgerTampered(f"{what} is not lower-case hex")
    return raw


class _Header:
    __slots__ = ("created", "id", "identity", "key", "line", "sig")

    def __init__(self, *, identity: str, key: str, created: int, sig: str) -> None:
        self.identity = identity
        self.key = key
        self.created = created
        self.sig = sig
        body = self.signed_bytes()
        self.id = _with_sig_hash(body, sig)
        self.line = _json_line(
            {
                "format": FORMAT,
                "notice": NOTICE,
                "identity": identity,
                "key": key,
                "created": created,
                "sig": sig,
                "id": self.id.hex(),
            }
        )

    def signed_bytes(self) -> bytes:
        return _header_body(self.identity, self.key, self.created)


def _header_body(identity: str, key: str, created: int) -> bytes:
    return encode({"format": FORMAT, "notice": NOTICE, "identity": identity, "key": key, "created": created})


class LocalLedger:
    """The ledger file: parse and check on open, append (fsynced), re-check on demand.

    Use :meth:`LocalLedgerBackend.open` rather than this class directly.
    """

    __slots__ = (
        "_digest",
        "_fd",
        "_keys",
        "_validated_len",
        "header",
        "path",
        "records",
        "recovered_bytes",
    )

    def __init__(self, path: Path) -> None:
        self.path = path
        self.header: _Header | None = None
        self.records: list[LedgerRecord] = []
        self.recovered_bytes = 0
        self._fd: int | None = None
        self._keys = KeyCache(size=4)
        self._digest = hashlib.sha256()
        self._validated_len = 0

    @property
    def id(self) -> str:
        """The ledger id (sha256 hex of the signed header)."""
        if self.header is None:
            raise AnchorError("the ledger has no header")
        return self.header.id.hex()

    # -- reading and checking -------------------------------------------------------------------

    def load(self, *, writable: bool) -> None:
        """Read and check the whole file (blocking). A writer also cuts off a torn last line."""
        data = self.path.read_bytes()
        complete = data.rfind(b"\n") + 1
        if complete != len(data):
            if writable:
                with open(self.path, "r+b") as f:
                    f.truncate(complete)
                    f.flush()
                    os.fsync(f.fileno())
            self.recovered_bytes = len(data) - complete
            data = data[:complete]
        try:
            self._check_from(data, 0)
        except LedgerTampered as exc:
            raise AnchorError(f"local ledger {self.path} is tampered or corrupt: {exc} ({NOTICE})") from None

    def recheck(self) -> None:
        """Re-read the file and check it is the validated prefix plus valid new records (blocking).

        Raises :class:`LedgerTampered` when anything already seen has changed.
        """
        data = self.path.read_bytes()
        if len(data) < self._validated_len:
            raise LedgerTampered(f"the file shrank from {self._validated_len} to {len(data)} bytes")
        if hashlib.sha256(data[: self._validated_len]).digest() != self._digest.digest():
            raise LedgerTampered("records already checked have changed on disk")
        complete = data.rfind(b"\n") + 1
        if complete > self._validated_len:
            self._check_from(data[:complete], self._validated_len)

    def _check_from(self, data: bytes, start: int) -> None:
        lines = data[start:].split(b"\n")[:-1]
        offset = start
        for raw in lines:
            if self.header is None:
                self.header = self._parse_header(raw)
            else:
                self.records.append(self._parse_record(raw, len(self.records)))
            offset += len(raw) + 1
            self._digest.update(raw + b"\n")
            self._validated_len = offset
        if self.header is None:
            raise LedgerTampered("the file has no header line")

    def _parse_json(self, raw: bytes, what: str) -> dict[str, Any]:
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise LedgerTampered(f"{what} is not JSON") from None
        if not isinstance(value, dict):
            raise LedgerTampered(f"{what} is not a JSON object")
        return value

    def _parse_header(self, raw: bytes) -> _Header:
        value = self._parse_json(raw, "the header")
        if set(value) != _HEADER_FIELDS or value["format"] != FORMAT or value["notice"] != NOTICE:
            raise LedgerTampered(f"the header is not an {FORMAT} header")
        if not all(isinstance(value[k], str) for k in ("identity", "key", "sig")) or type(value["created"]) is not int:
            raise LedgerTampered("the header fields have wrong types")
        header = _Header(identity=value["identity"], key=value["key"], created=value["created"], sig=value["sig"])
        if header.line != raw + b"\n":
            raise LedgerTampered("the header is not in canonical form")
        if not self._keys.verify(header.sig, header.key, header.signed_bytes()):
            raise LedgerTampered("the header signature does not verify")
        return header

    def _parse_record(self, raw: bytes, seq: int) -> LedgerRecord:
        assert self.header is not None
        what = f"record #{seq}"
        value = self._parse_json(raw, what)
        if set(value) != _RECORD_FIELDS:
            raise LedgerTampered(f"{what} has fields {sorted(value)}")
        if value["seq"] != seq or type(value["seq"]) is not int:
            raise LedgerTampered(f"{what} is numbered {value['seq']!r}: a record was removed, moved or inserted")
        if type(value["count"]) is not int or value["count"] < 1 or type(value["time"]) is not int:
            raise LedgerTampered(f"{what} has a bad count or time")
        if not isinstance(value["meta"], str) or not isinstance(value["sig"], str):
            raise LedgerTampered(f"{what} has a bad meta or sig")
        prev = self.records[-1].hash if self.records else self.header.id
        record = LedgerRecord(
            seq=seq,
            prev=_hex32(value["prev"], f"{what} prev"),
            root=_hex32(value["root"], f"{what} root"),
            count=value["count"],
            meta=value["meta"],
            time=value["time"],
            sig=value["sig"],
            hash=_hex32(value["hash"], f"{what} hash"),
        )
        if record.prev != prev:
            raise LedgerTampered(f"{what} does not link to the record before it")
        if self.records and record.time < self.records[-1].time:
            raise LedgerTampered(f"{what} is dated before the record before it")
        body = record.signed_bytes()
        if _with_sig_hash(body, record.sig) != record.hash:
            raise LedgerTampered(f"{what} does not hash to its recorded hash")
        if not self._keys.verify(record.sig, self.header.key, body):
            raise LedgerTampered(f"{what} signature does not verify against the ledger key")
        if record.line() != raw + b"\n":
            raise LedgerTampered(f"{what} is not in canonical form")
        return record

    # -- writing -------------------------------------------------------------------------------

    def create(self, header: _Header) -> None:
        """Write a new file holding only ``header`` (blocking); fails if the file exists."""
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, header.line)
            os.fsync(fd)
        finally:
            os.close(fd)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def lock(self) -> None:
        """Take the single-writer lock for this process (blocking, non-waiting)."""
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AnchorError(f"local ledger {self.path} is open for writing elsewhere") from None
        self._fd = fd

    def append(self, record: LedgerRecord) -> None:
        """Append one record and fsync (blocking). On failure the file is cut back."""
        if self._fd is None:
            raise AnchorError("the local ledger is open read-only or closed")
        line = record.line()
        size = os.fstat(self._fd).st_size
        try:
            written = os.write(self._fd, line)
            if written != len(line):
                raise OSError(f"short write ({written} of {len(line)} bytes)")
            os.fsync(self._fd)
        except OSError as exc:
            os.ftruncate(self._fd, size)
            raise AnchorError(f"could not append to local ledger {self.path}: {exc}") from exc
        self.records.append(record)
        self._digest.update(line)
        self._validated_len += len(line)

    def close(self) -> None:
        """Release the writer lock and file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class LocalLedgerBackend:
    """The ``local`` anchor backend: roots go into a signed, hash-chained file. NOT A PUBLIC CHAIN.

    Open it for writing with :meth:`open` (the node identity signs records) or
    for checking receipts only with :meth:`open_readonly`.
    """

    __slots__ = ("_closed", "_identities", "_identity", "_lock", "ledger")

    def __init__(self, ledger: LocalLedger, *, identities: Identities | None, identity: Identity | None) -> None:
        self.ledger = ledger
        self._identities = identities
        self._identity = identity
        self._closed = False
        self._lock = asyncio.Lock()  # one append or re-check at a time

    @classmethod
    async def open(
        cls, directory: str | os.PathLike[str], *, identities: Identities, identity: Identity
    ) -> LocalLedgerBackend:
        """Open (creating if needed) the ledger in ``directory`` for writing with ``identity``'s key.

        Checks the whole file; raises :class:`~orbitstore.errors.AnchorError` if
        it was tampered with, if it belongs to another key, or if another
        process has it open for writing.
        """
        path = Path(directory) / LEDGER_FILE
        ledger = LocalLedger(path)
        if not await asyncio.to_thread(path.exists):
            created = int(time.time())
            sig = await identities.sign(identity, _header_body(identity.id, identity.public_key, created))
            header = _Header(identity=identity.id, key=identity.public_key, created=created, sig=sig)
            await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):  # another process created it first: use theirs
                await asyncio.to_thread(ledger.create, header)
        await asyncio.to_thread(ledger.lock)
        try:
            await asyncio.to_thread(ledger.load, writable=True)
            assert ledger.header is not None
            if ledger.header.key != identity.public_key:
                raise AnchorError(
                    f"local ledger {path} belongs to key {ledger.header.key[:16]}…, not this node's "
                    f"{identity.public_key[:16]}…"
                )
        except BaseException:
            ledger.close()
            raise
        return cls(ledger, identities=identities, identity=identity)

    @classmethod
    async def open_readonly(cls, directory: str | os.PathLike[str]) -> LocalLedgerBackend:
        """Open an existing ledger to verify receipts against it (no key needed)."""
        path = Path(directory) / LEDGER_FILE
        if not await asyncio.to_thread(path.exists):
            raise AnchorError(f"no local ledger at {path}")
        ledger = LocalLedger(path)
        await asyncio.to_thread(ledger.load, writable=False)
        return cls(ledger, identities=None, identity=None)

    @property
    def kind(self) -> str:
        """``"local"``."""
        return "local"

    @property
    def ledger_id(self) -> str:
        """The ledger id, written into receipts as ``anchor.contract``."""
        return self.ledger.id

    @property
    def public_key(self) -> str:
        """The ledger's signing key (hex), written into receipts as ``anchor.sender``."""
        assert self.ledger.header is not None
        return self.ledger.header.key

    @property
    def notice(self) -> str:
        """The plain statement that this is not a public chain."""
        return NOTICE

    def __str__(self) -> str:
        return f"local ledger {self.ledger.path} (id {self.ledger_id[:16]}…) — {NOTICE}"

    async def anchor(self, root: bytes, count: int, meta: str) -> AnchorFacts:
        """Append one signed record for ``root`` and fsync it; return its facts."""
        if self._closed:
            raise AnchorError("the local ledger backend is closed")
        if self._identities is None or self._identity is None:
            raise AnchorError(f"local ledger {self.ledger.path} is open read-only")
        if len(root) != 32 or count < 1:
            raise AnchorError("anchor needs a 32-byte root and a count of at least 1")
        async with self._lock:
            records = self.ledger.records
            seq = len(records)
            prev = records[-1].hash if records else bytes.fromhex(self.ledger_id)
            at = max(int(time.time()), records[-1].time if records else 0)
            body = _record_body(seq, prev, root, count, meta, at)
            sig = await self._identities.sign(self._identity, body)
            record = LedgerRecord(seq, prev, bytes(root), count, meta, at, sig, _with_sig_hash(body, sig))
            await asyncio.to_thread(self.ledger.append, record)
        return AnchorFacts(
            kind="local",
            chain_id=0,
            contract=self.ledger_id,
            tx_hash=record.hash,
            block_number=seq,
            block_hash=record.hash,
            timestamp=at,
            sender=self.public_key,
        )

    async def verify(self, facts: AnchorFacts, root: bytes, policy: VerifyPolicy, *, count: int | None = None) -> None:
        """Re-check the file, then that record ``facts.block_number`` is the one ``facts`` describe."""
        if facts.kind != "local":
            raise ReceiptInvalid(f"a {facts.kind!r} receipt cannot be checked against a local ledger")
        check_policy(facts, policy, chain_id=0, contract=self.ledger_id)
        if facts.sender != self.public_key:
            raise ReceiptInvalid(f"wrong sender: the ledger's key is {self.public_key}, not {facts.sender}")
        async with self._lock:
            try:
                await asyncio.to_thread(self.ledger.recheck)
            except LedgerTampered as exc:
                raise ReceiptInvalid(f"local ledger tampered: {exc} ({NOTICE})") from None
            records = list(self.ledger.records)
        if facts.block_number >= len(records):
            raise ReceiptInvalid(f"local ledger has no record #{facts.block_number}")
        record = records[facts.block_number]
        if record.hash != facts.block_hash or record.hash != facts.tx_hash:
            raise ReceiptInvalid(f"local ledger record #{record.seq} has another hash than the receipt names")
        if record.root != root:
            raise ReceiptInvalid(f"local ledger record #{record.seq} holds another root")
        if count is not None and record.count != count:
            raise ReceiptInvalid(f"local ledger record #{record.seq} holds {record.count} leaves, not {count}")
        if record.time != facts.timestamp:
            raise ReceiptInvalid(f"local ledger record #{record.seq} is dated {record.time}, not {facts.timestamp}")
        check_confirmations(block_number=record.seq, head=len(records) - 1, policy=policy)

    async def aclose(self) -> None:
        """Release the file (and the writer lock). Safe to call twice."""
        self._closed = True
        self.ledger.close()
