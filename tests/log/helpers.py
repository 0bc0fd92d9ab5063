"""Shared helpers for log tests: fixture identities and fresh logs."""

from __future__ import annotations

from orbitstore.identities import Identities, Identity
from orbitstore.log import Log
from orbitstore.storage.memory import MemoryStorage
from tests.identities.test_identities import fixture_identity


async def users(*names: str) -> tuple[Identities, list[Identity]]:
    """One Identities service holding the spec's fixture users."""
    ids = await Identities.open()
    return ids, [await fixture_identity(ids, n) for n in names]


async def new_log(ids: Identities, who: Identity, log_id: str = "X", **kw: object) -> Log:
    return await Log.open(who, identities=ids, log_id=log_id, entry_storage=MemoryStorage(), **kw)  # type: ignore[arg-type]
