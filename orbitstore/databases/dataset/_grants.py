"""Access operations of a dataset: GRANT, REVOKE and ERASE.

Private to :mod:`orbitstore.databases.dataset`. ``grant``/``revoke`` build the
entries (with key envelopes for ``read`` in an encrypted dataset) that
``Dataset.grant``/``Dataset.revoke`` append; ``erase`` names every block its
causal past wrote for the record, and ``check_erase`` holds any ERASE to that.
The access rules themselves are evaluated in :mod:`~orbitstore.databases.dataset.acl`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING

from orbitstore.databases.dataset._build import Built, Context
from orbitstore.databases.dataset._read_access import reader_key_for, stored_reader_key
from orbitstore.databases.dataset.acl import CausalAcl, Node
from orbitstore.databases.dataset.ops import (
    CAPABILITIES,
    ERASE,
    GRANT,
    PUT,
    PUTS,
    REVOKE,
    Op,
    check_record_id,
    erase_payload,
    grant_payload,
    revoke_payload,
)
from orbitstore.databases.dataset.records import RecordBlock
from orbitstore.encryption.reader_key import ReaderKey
from orbitstore.errors import DatabaseError

if TYPE_CHECKING:
    from orbitstore.databases.dataset.dataset import Dataset

__all__ = ["check_capability", "check_erase", "erase", "grant", "latest_of", "record_blocks", "revoke"]


async def grant(ds: Dataset, capability: str, identity_id: str, *, reader_key: ReaderKey | str | None = None) -> str:
    """Give ``capability`` (``write``, ``admin`` or ``read``) to ``identity_id`` (admins only).

    In an encrypted dataset a ``read`` grant seals the dataset's keys to the
    reader's X25519 key: ``reader_key`` is the :class:`ReaderKey` the reader
    published (``await reader_db.reader_key()``) or the CID of its block in this
    store; it may be left out when granting to this node's own identity.
    """
    check_capability(capability)
    read = ds._read
    if capability != "read" or read is None:
        if reader_key is not None:
            raise DatabaseError("reader_key is for read grants in an encrypted dataset")
        entry = await ds._append(
            lambda _c: (
                grant_payload(capability, identity_id),
                Op(GRANT, capability=capability, subject=identity_id),
                [],
            )
        )
        return entry.hash
    if identity_id == "*":
        raise DatabaseError("an encrypted dataset cannot grant read to '*': there is no key to seal to")
    subject = await reader_key_for(ds, identity_id, reader_key)

    async def build(ctx: Context) -> Built:
        envelopes, rekey = await read.grant_envelopes(ctx.past, subject, partial(stored_reader_key, ds))
        payload = grant_payload("read", identity_id, reader=subject.cid, envelopes=envelopes, rekey=rekey)
        op = Op(
            GRANT,
            capability="read",
            subject=identity_id,
            reader=subject.cid,
            envelopes=tuple(envelopes),
            rekey=rekey,
        )
        return payload, op, [RecordBlock(subject.cid, subject.link, subject.bytes)]

    return (await ds._append(build)).hash


async def revoke(ds: Dataset, capability: str, identity_id: str, *, accept: Sequence[str] | None = None) -> str:
    """Take ``capability`` from ``identity_id`` (admins only).

    For ``write``/``admin`` the REVOKE names the heads of that identity it still
    accepts: by default its latest entries known here, or the entry hashes in
    ``accept``. Its entries not below those heads — on forks made before the
    revoke — become invalid, wherever they arrive.
    """
    check_capability(capability)
    heads: list[str] = []
    if capability in ("write", "admin") and identity_id != "*":
        heads = list(accept) if accept is not None else latest_of(ds._index.acl, identity_id)
    read = ds._read
    if capability != "read" or read is None:
        entry = await ds._append(
            lambda _c: (
                revoke_payload(capability, identity_id, heads),
                Op(REVOKE, capability=capability, subject=identity_id, heads=tuple(sorted(heads))),
                [],
            )
        )
        return entry.hash

    async def build(ctx: Context) -> Built:
        # A new epoch: its key goes to every remaining reader, never to the revoked one.
        envelopes = await read.revoke_envelopes(ctx.past, identity_id, partial(stored_reader_key, ds))
        payload = revoke_payload("read", identity_id, [], envelopes=envelopes)
        op = Op(REVOKE, capability="read", subject=identity_id, envelopes=tuple(envelopes), rekey=True)
        return payload, op, []

    return (await ds._append(build)).hash


def latest_of(acl: CausalAcl, identity_id: str) -> list[str]:
    """The maximal entries written by ``identity_id`` (none of them is an ancestor of another)."""
    mine = [n for n in acl.nodes.values() if n.writer == identity_id]
    below: set[str] = set()
    for node in sorted(mine, key=lambda n: n.order, reverse=True):
        if node.hash in below:
            continue
        below.update(h for h in acl.ancestors(node.next))
    return sorted(n.hash for n in mine if n.hash not in below)


async def erase(ds: Dataset, record_id: str) -> str:
    """Erase ``record_id`` (admins only): an ERASE op that deletes it like DEL, and every block that held it.

    The ERASE names every block any entry in its causal past wrote for this
    id; this node and every peer that honours erasure delete those blocks and
    never store them again, while every entry (and so the log's hashes and
    signatures) stays. See docs/encryption.md for what this does not cover.
    """
    check_record_id(record_id)

    def build(ctx: Context) -> Built:
        blocks = sorted(record_blocks(ds._index.acl, record_id, ctx.heads))
        op = Op(ERASE, records=((record_id, None),), erased=tuple(blocks))
        return erase_payload(record_id, blocks), op, []

    return (await ds._append(build)).hash


def record_blocks(acl: CausalAcl, record_id: str, roots: Iterable[str]) -> set[str]:
    """Every block any entry reachable from ``roots`` wrote for ``record_id`` (valid or not)."""
    seen: set[str] = set()
    out: set[str] = set()
    stack = list(roots)
    while stack:
        h = stack.pop()
        if h in seen:
            continue
        seen.add(h)
        node = acl.get(h)
        if node is None:
            continue
        for rid, key in node.op.records:
            if rid == record_id and key is not None and node.op.kind in (PUT, PUTS):
                out.add(key)
        stack.extend(node.next)
    return out


def check_erase(acl: CausalAcl, node: Node) -> None:
    """An ERASE must name exactly the blocks that held its record in its causal past."""
    (record_id, _), *_ = node.op.records
    want = sorted(record_blocks(acl, record_id, node.next))
    if list(node.op.erased) != want:
        raise DatabaseError(
            f"ERASE {node.hash or '(new)'} of {record_id!r} names blocks {list(node.op.erased)}, "
            f"but its causal past holds {want}"
        )


def check_capability(capability: str) -> None:
    """Raise :class:`DatabaseError` for a capability that is not ``write``, ``admin`` or ``read``."""
    if capability not in CAPABILITIES:
        raise DatabaseError(f"unknown capability {capability!r} (known: {', '.join(CAPABILITIES)})")
