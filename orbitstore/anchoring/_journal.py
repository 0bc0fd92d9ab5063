"""The anchorer's journal of pending submissions: JSON lines, fsynced, replayed on start.

Lines are ``{"op": "submit", "cid": …}``, ``{"op": "anchored", "cid": …, "receipt": …}``
and ``{"op": "failed", "cid": …, "reason": …}``. A CID is pending when its last
line is a ``submit``. On open the journal is replayed, rewritten with only the
pending submissions (atomically: temp file, fsync, rename) and kept open for
appends. A last line without its newline was never acknowledged and is dropped.
One process at a time: ``anchor-pending.lock`` is held with ``flock``.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from orbitstore.codec import CID
from orbitstore.errors import AnchorError, CIDError

__all__ = ["JOURNAL_FILE", "PendingJournal"]

JOURNAL_FILE = "anchor-pending.jsonl"
_LOCK_FILE = "anchor-pending.lock"


def _line(value: dict[str, str]) -> bytes:
    return (json.dumps(value, sort_keys=True, separators=(",", ":")) + "\n").encode()


class PendingJournal:
    """Durable record of which CIDs still wait for an anchor (blocking methods: call them in a thread)."""

    __slots__ = ("_fd", "_lock_fd", "directory", "path")

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / JOURNAL_FILE
        self._fd: int | None = None
        self._lock_fd: int | None = None

    @staticmethod
    def submit_line(cid: CID) -> bytes:
        """The journal line recording a submission."""
        return _line({"op": "submit", "cid": str(cid)})

    @staticmethod
    def anchored_line(cid: CID, receipt_id: str) -> bytes:
        """The journal line recording an anchored CID and its receipt."""
        return _line({"op": "anchored", "cid": str(cid), "receipt": receipt_id})

    @staticmethod
    def failed_line(cid: CID, reason: str) -> bytes:
        """The journal line recording a failed CID and why."""
        return _line({"op": "failed", "cid": str(cid), "reason": reason})

    def open(self) -> list[CID]:
        """Lock, replay and compact the journal; return the pending CIDs in submission order."""
        self.directory.mkdir(parents=True, exist_ok=True)
        lock_fd = os.open(self.directory / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_fd)
            raise AnchorError(f"another anchorer is running on {self.directory}") from None
        self._lock_fd = lock_fd
        try:
            pending = self._replay()
            self._rewrite(pending)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        except BaseException:
            self.close()
            raise
        return pending

    def _replay(self) -> list[CID]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        pending: dict[bytes, CID] = {}
        for number, raw in enumerate(data.split(b"\n")[:-1], 1):  # a torn last line has no newline
            try:
                value = json.loads(raw)
                op, cid = value["op"], CID.parse(value["cid"])
            except (ValueError, KeyError, TypeError, CIDError) as exc:
                raise AnchorError(f"anchor journal {self.path} line {number} is corrupt: {exc}") from None
            key = cid.to_bytes()
            if op == "submit":
                pending[key] = cid
            elif op in ("anchored", "failed"):
                pending.pop(key, None)
            else:
                raise AnchorError(f"anchor journal {self.path} line {number} has unknown op {op!r}")
        return list(pending.values())

    def _rewrite(self, pending: list[CID]) -> None:
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, b"".join(self.submit_line(cid) for cid in pending))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def append(self, lines: list[bytes]) -> None:
        """Append ``lines`` and fsync once."""
        if self._fd is None:
            raise AnchorError("the anchor journal is closed")
        data = b"".join(lines)
        size = os.fstat(self._fd).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            os.fsync(self._fd)
        except OSError as exc:
            os.ftruncate(self._fd, size)
            raise AnchorError(f"could not write the anchor journal {self.path}: {exc}") from exc

    def close(self) -> None:
        """Close the file and release the lock. Safe to call twice."""
        for name in ("_fd", "_lock_fd"):
            fd = getattr(self, name)
            if fd is not None:
                os.close(fd)
                setattr(self, name, None)
