"""What a dataset operation is built against, and the small helpers its batch writers share.

Private to :mod:`orbitstore.databases.dataset`: :class:`Context` (the state at
this node's heads), the ``Build`` callback type ``Dataset._append`` takes, the
``Progress`` callback of bulk writes and ``report``/``aiter_rows`` for them.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from orbitstore.databases.dataset.ops import Op
from orbitstore.databases.dataset.records import RecordBlock
from orbitstore.databases.dataset.schema import Schema

__all__ = ["DEFAULT_IMPORT_BATCH", "Build", "Built", "Context", "Progress", "RecordEncoder", "aiter_rows", "report"]

#: Records per PUTS entry when importing (one signature per batch).
DEFAULT_IMPORT_BATCH = 1000

#: ``progress(done, total)`` after each batch; ``total`` is ``None`` when unknown. May be async.
Progress = Callable[[int, int | None], Awaitable[None] | None]
#: An operation's payload, its parsed op, and the record blocks to store before signing it.
Built = tuple[dict[str, Any], Op, list[RecordBlock]]
#: Encodes one checked wire row as a record block (plaintext, or sealed in an encrypted dataset).
RecordEncoder = Callable[[str, dict[str, Any]], RecordBlock]


@dataclass(frozen=True, slots=True)
class Context:
    """What an operation is built against: the state at this node's heads."""

    schema: Schema | None
    heads: tuple[str, ...]
    past: frozenset[str]
    encode: RecordEncoder


Build = Callable[[Context], Built | Awaitable[Built]]


async def report(progress: Progress | None, done: int, total: int | None) -> None:
    """Call ``progress(done, total)`` (awaiting it when it is async), if given."""
    if progress is None:
        return
    result = progress(done, total)
    if inspect.isawaitable(result):
        await result


async def aiter_rows(rows: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Any]:
    """Iterate ``rows`` asynchronously, whether it is a plain or an async iterable."""
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            yield row
    else:
        for row in rows:
            yield row
