"""The in-memory view of a dataset log: causal validity, the live record of every id, anchors.

Built by walking the log once (on open, or over a snapshot's heads) and kept up
to date entry by entry. For each record id the winning operation is the valid
PUT, DEL or ERASE latest in the log's total order ``(clock time, clock id, entry hash,
position in the entry)``; live records are read in that same order — the order
of their last write — which every peer holding the same entries reproduces.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from orbitstore.codec import CID
from orbitstore.databases.dataset.acl import AclState, CausalAcl, ControlState, Node
from orbitstore.databases.dataset.ops import ANCHOR, DEL, ERASE, PUT, PUTS

__all__ = ["DatasetIndex", "LiveRecord"]

_Key = tuple[int, str, str, int]
_RECORD_OPS = frozenset((PUT, PUTS, DEL, ERASE))


@dataclass(frozen=True, slots=True)
class LiveRecord:
    """A live record: its id, its block's CID (the block-store key) and the entry that wrote it."""

    id: str
    key: str
    entry: str


class DatasetIndex:
    """Causal validity (:class:`CausalAcl`) plus record winners and anchors over the valid entries."""

    def __init__(self, genesis: AclState) -> None:
        self.acl = CausalAcl(genesis)
        self._winners: dict[str, tuple[_Key, str | None]] = {}
        self._anchors: dict[str, tuple[_Key, CID]] = {}
        self._erased: set[str] = set()
        self._live = 0
        self._version = self.acl.version
        self._sorted: list[LiveRecord] | None = None

    # -- updates ---------------------------------------------------------------------------------

    def load(self, nodes: Iterable[Node]) -> None:
        """Build from every node of a log, parents first."""
        self.acl.load(nodes)
        self._rebuild()

    def commit(self, hashes: Iterable[str]) -> None:
        """Add the staged entries ``hashes`` (parents first) and update the records."""
        added = self.acl.commit(hashes)
        if self.acl.version != self._version:
            self._rebuild()
            return
        for node in added:
            if self.acl.valid.get(node.hash, False):
                self._take(node)

    def _rebuild(self) -> None:
        self._winners.clear()
        self._anchors.clear()
        self._erased.clear()
        self._live = 0
        self._sorted = None
        valid = self.acl.valid
        for node in sorted(self.acl.nodes.values(), key=lambda n: n.order):
            if valid.get(node.hash, False):
                self._take(node)
        self._version = self.acl.version

    def _take(self, node: Node) -> None:
        op = node.op
        if op.kind == ERASE:
            self._erased.update(op.erased)
        if op.kind in _RECORD_OPS:
            winners = self._winners
            time, clock, h = node.order
            for i, (record_id, link) in enumerate(op.records):
                key = (time, clock, h, i)
                current = winners.get(record_id)
                if current is None or key > current[0]:
                    winners[record_id] = (key, link)
                    self._live += (link is not None) - (current is not None and current[1] is not None)
            self._sorted = None
        elif op.kind == ANCHOR and op.link is not None:
            key = (*node.order, 0)
            previous = self._anchors.get(op.subject)
            if previous is None or key > previous[0]:
                self._anchors[op.subject] = (key, op.link)

    # -- reads -----------------------------------------------------------------------------------

    def lookup(self, record_id: str) -> str | None:
        """The block key of the live record ``record_id``, or ``None`` (absent or deleted)."""
        winner = self._winners.get(record_id)
        return winner[1] if winner is not None else None

    def winner(self, record_id: str) -> LiveRecord | None:
        """The live record ``record_id`` with the entry that wrote it, or ``None``."""
        winner = self._winners.get(record_id)
        if winner is None or winner[1] is None:
            return None
        return LiveRecord(record_id, winner[1], winner[0][2])

    def is_erased(self, key: str) -> bool:
        """True when a valid ERASE named the record block ``key``."""
        return key in self._erased

    def erased(self) -> frozenset[str]:
        """Every record block named by a valid ERASE."""
        return frozenset(self._erased)

    def count(self) -> int:
        """How many records are live."""
        return self._live

    def live(self) -> list[LiveRecord]:
        """Every live record, in the order of its last write."""
        if self._sorted is None:
            nodes = self.acl.nodes
            entry_hashes = {key[2] for key, link in self._winners.values() if link is not None}
            ranked = sorted(entry_hashes, key=lambda h: nodes[h].order)
            rank = {h: r << 32 for r, h in enumerate(ranked)}
            items = [
                (rank[key[2]] | key[3], rid, link, key[2])
                for rid, (key, link) in self._winners.items()
                if link is not None
            ]
            items.sort(key=lambda item: item[0])
            self._sorted = [LiveRecord(rid, link, h) for _, rid, link, h in items]
        return self._sorted

    def anchors(self) -> dict[str, CID]:
        """Snapshot CID → receipt link, for every valid ANCHOR (the latest per snapshot)."""
        return {cid: link for cid, (_, link) in sorted(self._anchors.items())}

    def state(self) -> ControlState:
        """The current control state (capabilities and schema)."""
        return self.acl.current()
