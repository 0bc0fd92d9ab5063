"""Private helpers shared by the storages: the open/closed lifecycle and merge."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from orbitstore.errors import StorageClosed
from orbitstore.storage.base import Storage

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


async def copy_pairs(target: Storage, source: Storage) -> None:
    """Put every pair of ``source`` into ``target`` (the default ``merge``)."""
    async for key, value in source.items():
        await target.put(key, value)
