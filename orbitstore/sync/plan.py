"""The steps of a direct exchange, over data: what a client lacks, and how a client joins what it got.

Server side, :func:`missing_entries` answers "given the heads you have, what
must I send?": every entry reachable from the server's heads (through
``next`` and ``refs``) that is not an ancestor of one of the client's heads
the server holds, parents first. The walk visits entries newest first and
stops as soon as nothing it still has to look at can be missing on the
client, so a client that is nearly up to date costs a short walk.

Besides entries, a server sends the blocks an entry's payload links to (IPLD
links, e.g. a dataset's record blocks) just before that entry, when it holds
them: :func:`linked_cids`.

Client side, :class:`Chunk` collects streamed blocks and tells which
entries to join (the chunk's heads): because the server sends parents first,
joining a chunk's heads needs only that chunk, earlier chunks and what the
client already had, so a long history is joined piece by piece with bounded
memory, and a restart keeps what was joined.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from orbitstore.codec import CID, decode
from orbitstore.errors import DecodeError
from orbitstore.log import Entry, Log, find_heads

__all__ = ["Chunk", "EntryRef", "linked_cids", "missing_entries", "parents_first", "peek_entry"]


async def missing_entries(log: Log, have: Iterable[str], *, heads: Sequence[Entry] | None = None) -> list[Entry]:
    """Entries of ``log`` that a peer whose heads are ``have`` lacks, parents first.

    ``heads`` defaults to the log's current heads. Heads in ``have`` that the
    log does not hold are ignored (the server cannot know their ancestors).
    An entry the client has may be included when clocks are inconsistent —
    never one it lacks left out. When every entry's clock is greater than its
    parents' (as OrbitDB and orbitstore write them) the walk's order, reversed,
    is already parents first; otherwise :func:`parents_first` sorts it.
    """
    heads = list(heads) if heads is not None else await log.heads()
    order = itertools.count()
    heap: list[tuple[int, int, Entry]] = []
    known: dict[str, bool] = {}  # hash -> the client has it
    times: dict[str, int] = {}  # hash -> clock time, of every entry reached
    popped: set[str] = set()
    unknown = 0  # queued entries not known to be on the client

    for h in dict.fromkeys(have):
        if await log.has(h):
            entry = await log.get(h)
            if entry is not None:
                known[h] = True
                times[h] = entry.clock.time
                heapq.heappush(heap, (-entry.clock.time, next(order), entry))
    for entry in heads:
        if entry.hash not in known:
            known[entry.hash] = False
            times[entry.hash] = entry.clock.time
            unknown += 1
            heapq.heappush(heap, (-entry.clock.time, next(order), entry))

    send: list[Entry] = []
    ordered = True  # every parent older than its child: the reversed walk is already parents first
    while heap and unknown > 0:
        entry = heapq.heappop(heap)[2]
        popped.add(entry.hash)
        if len(popped) % 4096 == 0:
            await asyncio.sleep(0)  # a long walk over cached entries never yields by itself
        client_has = known[entry.hash]
        if not client_has:
            unknown -= 1
            send.append(entry)
        time = entry.clock.time
        for p in (*entry.next, *entry.refs):
            state = known.get(p)
            if state is None:
                parent = await log.get(p)
                if parent is None:
                    continue  # not held here: nothing to send, nothing to learn
                known[p] = client_has
                times[p] = parent.clock.time
                if not client_has:
                    unknown += 1
                heapq.heappush(heap, (-parent.clock.time, next(order), parent))
            elif client_has and state is False and p not in popped:
                known[p] = True  # queued as missing, but it is an ancestor of a client head
                unknown -= 1
            if times[p] >= time:
                ordered = False
    send.reverse()
    return send if ordered else parents_first(send)


def parents_first(entries: Sequence[Entry]) -> list[Entry]:
    """``entries`` ordered so that each comes after every member it points at (``next``, ``refs``).

    Ties keep the oldest clock first; entries outside the set are ignored.
    """
    members = {e.hash: e for e in entries}
    out: list[Entry] = []
    done: set[str] = set()
    for root in sorted(members.values(), key=lambda e: e.clock.time):
        if root.hash in done:
            continue
        stack: list[tuple[Entry, bool]] = [(root, False)]
        while stack:
            entry, expanded = stack.pop()
            if entry.hash in done:
                continue
            if expanded:
                done.add(entry.hash)
                out.append(entry)
                continue
            stack.append((entry, True))
            for p in (*entry.next, *entry.refs):
                parent = members.get(p)
                if parent is not None and p not in done:
                    stack.append((parent, False))
    return out


def linked_cids(value: Any) -> list[str]:
    """The CIDs of every IPLD link (tag 42) inside ``value`` (a decoded payload), in order, once each."""
    found: dict[str, None] = {}
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, CID):
            found.setdefault(str(item), None)
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list | tuple):
            stack.extend(reversed(item))
    return list(found)


@dataclass(frozen=True, slots=True)
class EntryRef:
    """What sync needs of an entry before it is verified: its hash, log id, parents and skip references."""

    hash: str
    id: str
    next: tuple[str, ...]
    refs: tuple[str, ...]


def peek_entry(cid: str, block: bytes) -> EntryRef | None:
    """Read an entry's log id, ``next`` and ``refs`` without verifying anything; ``None`` if not entry-shaped.

    Used only to plan (chunk heads, what to fetch ahead): the log decodes
    strictly and verifies every entry (and its hash) when it is joined.
    """
    try:
        value = decode(block, strict=False)
    except DecodeError:
        return None
    if type(value) is not dict or "sig" not in value or "clock" not in value:
        return None
    log_id, nexts, refs = value.get("id"), value.get("next"), value.get("refs")
    if type(log_id) is not str or type(nexts) is not list or type(refs) is not list:
        return None
    if not all(type(n) is str for n in nexts) or not all(type(r) is str for r in refs):
        return None
    return EntryRef(cid, log_id, tuple(nexts), tuple(refs))


@dataclass(slots=True)
class Chunk:
    """Blocks streamed so far and not yet joined: entries (in arrival order) and the blocks they link to."""

    entries: dict[str, bytes] = field(default_factory=dict)
    refs: list[EntryRef] = field(default_factory=list)
    linked: dict[str, bytes] = field(default_factory=dict)
    size: int = 0

    def add(self, ref: EntryRef, block: bytes) -> None:
        """Keep entry ``ref`` with its block."""
        if ref.hash not in self.entries:
            self.entries[ref.hash] = block
            self.refs.append(ref)
            self.size += len(block)

    def add_linked(self, cid: str, block: bytes) -> None:
        """Keep a block an entry links to (it arrives just before that entry)."""
        if cid not in self.linked:
            self.linked[cid] = block
            self.size += len(block)

    def heads(self) -> list[str]:
        """The chunk's entries that no other entry of the chunk names in ``next``, in arrival order."""
        return [r.hash for r in find_heads(self.refs)]

    def clear(self) -> None:
        """Forget the chunk (after it is joined)."""
        self.entries = {}
        self.refs = []
        self.linked = {}
        self.size = 0
