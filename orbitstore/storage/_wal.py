"""The write-ahead log of a durable embedded store (private to :mod:`orbitstore.storage.embedded`).

A durable ``sync()`` must not return before its writes survive a power
failure. Committing LMDB for that costs two fdatasyncs and a B-tree write per
sync; appending the writes to this log costs one fdatasync of a few hundred
bytes. LMDB is then committed in batches, like batch mode, and each commit
records the sequence number it covers, so replaying the log on open applies
exactly the writes LMDB does not hold yet — in order, so replay is idempotent.

Files are ``wal-<n>.log`` in the store's directory. A file holds frames
``length(u32) ‖ crc32(u32) ‖ payload``; a payload is a run of writes
``seq(u64) ‖ kind(u8) ‖ len(name)(u16) ‖ name ‖ len(key)(u16) ‖ key ‖ len(value)(u32) ‖ value``
with kind 0 = put, 1 = delete, 2 = clear (no key, no value). A frame that is
short or fails its CRC ends that file (a crash during its write: it was never
acknowledged). At each LMDB commit the current file is sealed; sealed files
are deleted once a commit covering them succeeds.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orbitstore.errors import StorageError
from orbitstore.storage._buffer import DbOps, WriteBuffer
from orbitstore.storage._environment import grow_map, write_buffer

__all__ = [
    "CLEAR",
    "DELETE",
    "META_DB",
    "PUT",
    "WalOp",
    "WriteAheadLog",
    "mark_applied",
    "read_wal",
    "replay_wal",
    "wal_files",
]

PUT, DELETE, CLEAR = 0, 1, 2
_FRAME = struct.Struct(">II")
_OP = struct.Struct(">QBH")
_FILE = re.compile(r"^wal-(\d{8})\.log$")


@dataclass(frozen=True, slots=True)
class WalOp:
    """One logged write."""

    seq: int
    kind: int
    name: str
    key: bytes
    value: bytes | None


def _encode(ops: list[WalOp]) -> bytes:
    out = bytearray()
    for op in ops:
        name = op.name.encode("utf-8")
        out += _OP.pack(op.seq, op.kind, len(name))
        out += name
        out += struct.pack(">H", len(op.key))
        out += op.key
        value = op.value or b""
        out += struct.pack(">I", len(value))
        out += value
    return bytes(out)


def _decode(payload: bytes) -> list[WalOp]:
    ops: list[WalOp] = []
    pos = 0
    while pos < len(payload):
        seq, kind, name_len = _OP.unpack_from(payload, pos)
        pos += _OP.size
        name = payload[pos : pos + name_len].decode("utf-8")
        pos += name_len
        (key_len,) = struct.unpack_from(">H", payload, pos)
        pos += 2
        key = payload[pos : pos + key_len]
        pos += key_len
        (value_len,) = struct.unpack_from(">I", payload, pos)
        pos += 4
        value = payload[pos : pos + value_len]
        pos += value_len
        ops.append(WalOp(seq, kind, name, key, value if kind == PUT else None))
    return ops


def wal_files(directory: Path) -> list[Path]:
    """The store's log files, oldest first."""
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _FILE.match(p.name))]
    return [p for _, p in sorted(found)]


def read_wal(paths: list[Path]) -> Iterator[WalOp]:
    """Every complete, intact write in ``paths``, in order."""
    for path in paths:
        data = path.read_bytes()
        pos = 0
        while pos + _FRAME.size <= len(data):
            length, crc = _FRAME.unpack_from(data, pos)
            start = pos + _FRAME.size
            payload = data[start : start + length]
            if len(payload) != length or zlib.crc32(payload) != crc:
                break  # torn by a crash during its write: never acknowledged
            yield from _decode(payload)
            pos = start + length


class WriteAheadLog:
    """Appends frames with one fdatasync each; rotates files at LMDB commits."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        existing = wal_files(directory)
        self._next = int(_FILE.match(existing[-1].name).group(1)) + 1 if existing else 1  # type: ignore[union-attr]
        self._sealed: list[Path] = list(existing)
        self._fd: int | None = None
        self._path: Path | None = None

    def append(self, ops: list[WalOp]) -> None:
        """Write ``ops`` as one frame and fdatasync it (blocking, ~0.2–0.3 ms here)."""
        payload = _encode(ops)
        frame = _FRAME.pack(len(payload), zlib.crc32(payload)) + payload
        try:
            new_file = self._fd is None
            if self._fd is None:
                self._path = self._directory / f"wal-{self._next:08d}.log"
                self._next += 1
                self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.write(self._fd, frame)
            os.fdatasync(self._fd)
            if new_file:  # the new file's directory entry must be durable too
                dir_fd = os.open(self._directory, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
        except OSError as exc:
            raise StorageError(f"write-ahead log in {str(self._directory)!r} failed: {exc}") from exc

    def seal(self) -> list[Path]:
        """End the current file (an LMDB commit is starting); return every sealed file so far."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            assert self._path is not None
            self._sealed.append(self._path)
            self._path = None
        return list(self._sealed)

    def remove(self, paths: list[Path]) -> None:
        """Delete sealed files that a successful commit covers."""
        for path in paths:
            path.unlink(missing_ok=True)
            if path in self._sealed:
                self._sealed.remove(path)

    def close(self) -> None:
        """Close the current file (its frames are already durable)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


#: The sub-database where each LMDB commit records the last logged write it covers.
META_DB = "~orbitstore/wal-meta"  # no NUL: LMDB names are C strings
_APPLIED = b"applied"


def mark_applied(buffer: WriteBuffer, upto: int) -> None:
    """Make a commit of ``buffer`` record that it covers every write up to sequence ``upto``."""
    ops = buffer.dbs.get(META_DB)
    if ops is None:
        ops = buffer.dbs[META_DB] = DbOps()
    ops.ops[_APPLIED] = upto.to_bytes(8, "big")  # not counted in buffer.count: not a user write


def replay_wal(env: Any, handles: dict[str, Any], directory: Path, *, readonly: bool) -> int:
    """Apply logged writes LMDB lacks (one synced commit), delete the log; return the last sequence.

    Runs when a store opens, before anything else touches it, whatever its
    durability now (a store last opened durable may be reopened in batch mode).
    """
    meta = handles.get(META_DB)
    applied = 0
    if meta is not None:
        with env.begin() as txn:
            raw = txn.get(_APPLIED, db=meta)
        applied = int.from_bytes(raw, "big") if raw else 0
    paths = wal_files(directory)
    if not paths:
        return applied
    pending = [op for op in read_wal(paths) if op.seq > applied]
    if pending and readonly:
        raise StorageError(
            f"embedded store {str(directory)!r} has {len(pending)} logged writes to replay; open it writable once"
        )
    if pending:
        buffer = WriteBuffer()
        for op in pending:
            ops = buffer.dbs.get(op.name)
            if op.kind == CLEAR:
                buffer.dbs[op.name] = DbOps(cleared=True)
            else:
                if ops is None:
                    ops = buffer.dbs[op.name] = DbOps()
                ops.ops[op.key] = op.value
            buffer.count += 1
        last = pending[-1].seq
        mark_applied(buffer, last)
        while True:
            created, map_full = write_buffer(env, handles, buffer)
            handles.update(created)
            if not map_full:
                break
            grow_map(env)
        applied = last
    if not readonly:
        for path in paths:
            path.unlink(missing_ok=True)
    return applied
