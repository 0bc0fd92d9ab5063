"""What the log asks before it accepts an entry: the access-controller Protocol."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from orbitstore.identities import Identity
    from orbitstore.log.entry import Entry

__all__ = ["AccessController", "AllowAll", "EntryLookup"]

#: Looks an entry up by hash among the log's entries *and* those being joined.
EntryLookup = Callable[[str], Awaitable["Entry | None"]]


@runtime_checkable
class AccessController(Protocol):
    """Decides whether a writer may append an entry.

    The log has already checked the entry's signature, its identity and that the
    two belong together; the controller only decides on capabilities. ``lookup``
    resolves hashes in the entry's causal past, including entries joined in the
    same batch (the dataset controller evaluates access causally with it).
    """

    type: str

    async def can_append(self, entry: Entry, identity: Identity, lookup: EntryLookup) -> bool:
        """True when ``identity`` may write ``entry``."""
        ...


class AllowAll:
    """The default for a bare log (as in OrbitDB): anyone whose entry verifies may write."""

    type = "allow-all"

    async def can_append(self, entry: Entry, identity: Identity, lookup: EntryLookup) -> bool:
        return True
