"""Private helpers of :class:`~orbitstore.log.Log`.

The orders it sorts entries in, and a wait that cancelling does not cut short.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orbitstore.identities import Identity
    from orbitstore.log.entry import Entry

__all__ = ["parents_first", "stable_ascending", "uninterrupted"]


async def uninterrupted(task: asyncio.Future[None]) -> None:
    """Wait for ``task`` to finish even when cancelled meanwhile; then re-raise the cancellation.

    A failure of ``task`` itself is raised instead (the caller must learn that the work failed).
    """
    cancelled: asyncio.CancelledError | None = None
    while True:
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError as exc:
            if task.done():  # shield() re-raises the task's own cancellation
                raise
            cancelled = exc
            continue
        if cancelled is not None:
            raise cancelled
        return


def stable_ascending(entries: list[Entry], key: Callable[[Entry], tuple[int, tuple[int, ...]]]) -> list[Entry]:
    """Ascending by clock like JS ``sort(LastWriteWins)``: stable for equal clocks.

    Our keys are descending (for min-heaps), so sort by the key reversed while
    keeping the original order among equals: Python's sort is stable.
    """
    decorated = sorted(range(len(entries)), key=lambda i: key(entries[i]), reverse=True)
    # reverse=True keeps equal items in original order in CPython's stable sort
    return [entries[i] for i in decorated]


def parents_first(pending: dict[str, tuple[Entry, Identity]]) -> list[tuple[Entry, Identity]]:
    """Order new entries so each comes after everything it points at (next and refs)."""
    out: list[tuple[Entry, Identity]] = []
    done: set[str] = set()
    for root in sorted(pending, key=lambda h: pending[h][0].clock.time):
        if root in done:
            continue
        stack: list[tuple[str, bool]] = [(root, False)]
        while stack:
            h, expanded = stack.pop()
            if h in done:
                continue
            if expanded:
                done.add(h)
                out.append(pending[h])
                continue
            stack.append((h, True))
            e = pending[h][0]
            for p in (*e.next, *e.refs):
                if p in pending and p not in done:
                    stack.append((p, False))
    return out
