"""Access-controller types, registered by the string a manifest's ``accessController`` starts with."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from orbitstore.errors import DatabaseError
from orbitstore.log.access import AccessController

if TYPE_CHECKING:
    from orbitstore.store import OrbitStore

__all__ = ["AccessControllerType", "AccessRegistry", "split_address"]


@runtime_checkable
class AccessControllerType(Protocol):
    """A kind of access controller: creates its manifest and loads instances from an address."""

    type: ClassVar[str]

    @classmethod
    async def create(cls, store: OrbitStore, *, name: str, options: dict[str, Any]) -> str:
        """Write whatever the controller needs and return its address (``/<type>/<cid>``)."""
        ...

    @classmethod
    async def load(cls, store: OrbitStore, address: str, *, name: str) -> AccessController:
        """Load the controller at ``address``."""
        ...


def split_address(address: str) -> tuple[str, str]:
    """``/ipfs/zdpu…`` → (``ipfs``, ``zdpu…``); :class:`DatabaseError` when malformed."""
    parts = [p for p in address.split("/") if p]
    if len(parts) != 2:
        raise DatabaseError(f"malformed access controller address {address!r}")
    return parts[0], parts[1]


class AccessRegistry:
    """Controller types keyed by type string."""

    def __init__(self) -> None:
        self._types: dict[str, type[AccessControllerType]] = {}

    def register(self, kind: Any) -> None:
        """Add or replace ``kind`` under ``kind.type``."""
        self._types[kind.type] = kind

    def get(self, type_: str) -> type[AccessControllerType]:
        """The controller type, or a :class:`DatabaseError` naming the known ones."""
        try:
            return self._types[type_]
        except KeyError:
            raise DatabaseError(
                f"unknown access controller type {type_!r} (known: {', '.join(sorted(self._types))})"
            ) from None

    def types(self) -> list[str]:
        """Registered type strings, sorted."""
        return sorted(self._types)
