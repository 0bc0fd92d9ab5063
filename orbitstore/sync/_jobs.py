"""The replicator's units of work (join jobs) and how it classifies the errors they meet."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from orbitstore.errors import (
    AccessDenied,
    DatabaseError,
    DecodeError,
    KuboError,
    LogError,
    NotFound,
    StorageError,
    SyncError,
    VerifyError,
)
from orbitstore.log import Entry

#: Errors that mean "the peer sent something wrong" (counted against it); DatabaseError covers a
#: type's own checks, such as a dataset record that breaks the schema.
_INVALID = (VerifyError, AccessDenied, DecodeError, LogError, DatabaseError)
#: Errors that mean "could not get it now" (retried on the next announcement).
_UNAVAILABLE = (NotFound, StorageError, KuboError)
#: Errors of a transport that may heal (resubscribe, retry).
_TRANSIENT = (KuboError, StorageError, SyncError, DecodeError, OSError)


class _UseDirect(Exception):  # control flow only: never leaves the replicator
    """A peer's direct endpoint became known during a block-source join: abandon it, ask directly."""


@dataclass(slots=True, eq=False)
class _Job:
    """Work for the worker: join one head (an entry, or a CID to fetch) or run one direct exchange."""

    peer: str
    head: str | None = None
    entry: Entry | None = None
    direct: bool = False
    quiet: bool = False  # a direct-only poll: no known/joined events unless it brings entries
    fetched: int = 0
    known: int = 0


def fail_start(ready: asyncio.Future[None], exc: BaseException) -> None:
    """A run loop failed: if it had not reported itself started, hand the failure to whoever awaits it."""
    if not ready.done():
        if isinstance(exc, asyncio.CancelledError):
            ready.cancel()
        else:
            ready.set_exception(exc)


def undo_all(cleanup: list[Callable[[], None]]) -> None:
    """Run and forget every undo function a run loop registered."""
    for undo in cleanup:
        undo()
    cleanup.clear()
