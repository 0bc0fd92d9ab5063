"""The blocks a peer needs before it can open a database by address: its manifest and access controller.

Opening ``/orbitdb/<hash>`` reads the manifest block ``<hash>``, then the
block its ``accessController`` (``/ipfs/<cid>``, ``/dataset/<cid>`` or
``/orbitdb/<cid>``) names; an ``orbitdb`` controller is itself a database,
whose manifest names one more controller block. Over Kubo, bitswap fetches
them; between static direct peers (no Kubo), a ``setup`` request on the
direct path does (:meth:`~orbitstore.sync.direct.DirectNode.fetch_setup`).

The server walks from the manifest (:func:`gather_setup`); the client checks
the answer (:func:`check_setup`): every block must hash to its CID and be
the manifest or a block an earlier one names, so a peer can send nothing
else. The entries of an ``orbitdb`` controller's own log are not part of
it: that database replicates like any other once it is open.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from orbitstore.codec import CID, decode
from orbitstore.errors import CIDError, DecodeError, SyncError
from orbitstore.sync.transport import DirectBlock

__all__ = ["MAX_SETUP_BLOCKS", "check_setup", "gather_setup", "setup_links"]

#: most blocks a setup answer may hold (manifest, controller, a controller database's manifest and controller)
MAX_SETUP_BLOCKS = 4


def setup_links(block: bytes) -> list[str]:
    """The CIDs opening needs after ``block``: a manifest's access-controller block; none for any other block."""
    try:
        value = decode(block)
    except DecodeError:
        return []
    controller = value.get("accessController") if isinstance(value, dict) else None
    if not isinstance(controller, str):
        return []
    parts = [p for p in controller.split("/") if p]
    if len(parts) != 2:
        return []
    try:
        return [CID.parse(parts[1]).encode()]
    except CIDError:
        return []


async def gather_setup(get: Callable[[str], Awaitable[bytes | None]], manifest_hash: str) -> list[DirectBlock]:
    """The setup blocks of the database whose manifest is ``manifest_hash``, manifest first (what ``get`` has)."""
    found: list[DirectBlock] = []
    wanted = [manifest_hash]
    seen: set[str] = set()
    while wanted and len(found) < MAX_SETUP_BLOCKS:
        cid = wanted.pop(0)
        if cid in seen:
            continue
        seen.add(cid)
        block = await get(cid)
        if block is None:
            continue
        found.append(DirectBlock(cid, block))
        wanted += setup_links(block)
    return found


def check_setup(manifest_hash: str, blocks: Iterable[DirectBlock]) -> dict[str, bytes]:
    """Verify a setup answer: :class:`SyncError` unless it holds the manifest and only blocks opening needs.

    The caller bounds how many blocks it reads (:data:`MAX_SETUP_BLOCKS`).
    """
    allowed = {manifest_hash}
    checked: dict[str, bytes] = {}
    for item in blocks:
        try:
            cid = CID.parse(item.cid)
        except CIDError as exc:
            raise SyncError(f"setup block {item.cid!r}: {exc}") from None
        key = cid.encode()
        if key not in allowed:
            raise SyncError(f"setup block {key} is not one that opening {manifest_hash} needs")
        if not cid.verify(item.data):
            raise SyncError(f"setup block {key} does not hash to its CID")
        checked[key] = item.data
        allowed.update(setup_links(item.data))
    if manifest_hash not in checked:
        raise SyncError(f"the peer did not send the manifest {manifest_hash}")
    return checked
