"""Private helpers shared by the storages: the open/closed lifecycle and merge."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from orbitstore.errors import StorageClosed
from orbitstore.storage.base import Storage, put_many

__all__ = ["Lifecycle", "copy_pairs"]


class Lifecycle:
    """Owner-managed lifetime: ``async with`` support and the closed check.

    Subclasses set ``self._closed = True`` in their ``aclose()``.
    """

    __slots__ = ("_closed",)

    def __init__(self) -> None:
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` has been called."""
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise StorageClosed(f"{type(self).__name__} is closed")

    async def aclose(self) -> None:
        """Release resources; safe to call twice (subclasses extend this)."""
        self._closed = True

    async def __aenter__(self) -> Self:
        self._check_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


_MERGE_CHUNK = 4096


async def copy_pairs(target: Storage, source: Storage) -> None:
    """Put every pair of ``source`` into ``target`` (the default ``merge``), in chunks of :func:`put_many`."""
    chunk: list[tuple[str, bytes]] = []
    async for pair in source.items():
        chunk.append(pair)
        if len(chunk) >= _MERGE_CHUNK:
            await put_many(target, chunk)
            chunk = []
    if chunk:
        await put_many(target, chunk)
