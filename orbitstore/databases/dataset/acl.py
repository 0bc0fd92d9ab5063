"""Causal access control for datasets: which entries of a log are valid, whatever order they arrived in.

Rules (docs/dataset.md has the long form):

* The *control state* of an entry (capabilities and schema) is the fold, in the
  log's total order — (clock time, clock id, hash), which respects causality —
  of the valid control operations (SCHEMA, GRANT, REVOKE) in the entry's causal
  past, starting from the genesis admins and writers of the manifest.
* An entry is valid iff its writer holds a capability the operation needs in
  the control state of its causal past (``admin`` implies ``write``; ``*`` may
  hold ``write`` and ``read``) and no REVOKE in force cuts it off.
* A REVOKE of ``write``/``admin`` from W names W's heads it still accepts. Every
  entry of W that is neither an ancestor of those heads nor has the REVOKE in
  its causal past is cut off — also entries that arrived before the REVOKE —
  except control operations the REVOKE itself has seen. Cut-off data is left
  out of every read and snapshot, so peers converge.
* Revokes that cut each other off (admins revoking each other on forks) are
  settled deterministically: starting with no revoke in force, the earliest
  revoke (in total order) whose status disagrees with the last evaluation is
  toggled, until nothing changes.

Efficiency: each entry keeps the frozenset of control-operation hashes in its
causal past (shared by linear descendants, interned at merges); control states
are memoized per set. Without any REVOKE, adding an entry is O(1); a control
operation added while REVOKEs exist re-evaluates the log's validity in memory.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from orbitstore.databases.dataset.ops import GRANT, REVOKE, SCHEMA, Op
from orbitstore.databases.dataset.schema import Schema
from orbitstore.errors import AccessDenied, DatabaseError, OrbitStoreError, SchemaError

__all__ = ["AclState", "CausalAcl", "ControlState", "Node", "Verdict"]

_EMPTY: frozenset[str] = frozenset()
_CUT_CAPS = ("write", "admin")


@dataclass(frozen=True, slots=True)
class AclState:
    """Who holds which capability: identity ids per ``admin``, ``write`` and ``read``."""

    admin: frozenset[str] = _EMPTY
    write: frozenset[str] = _EMPTY
    read: frozenset[str] = _EMPTY

    def holders(self, capability: str) -> frozenset[str]:
        """The ids holding ``capability`` as granted (``admin`` is not folded into ``write`` here)."""
        if capability == "admin":
            return self.admin
        if capability == "write":
            return self.write
        if capability == "read":
            return self.read
        raise DatabaseError(f"unknown capability {capability!r}")

    def allows(self, capability: str, identity_id: str) -> bool:
        """True when ``identity_id`` holds ``capability`` (``*`` counts, except for ``admin``)."""
        holders = self.holders(capability)
        return identity_id in holders or (capability != "admin" and "*" in holders)

    def can_write(self, identity_id: str) -> bool:
        """True when ``identity_id`` may write records (``write`` or ``admin``)."""
        return self.allows("write", identity_id) or self.allows("admin", identity_id)

    def granted(self, capability: str, identity_id: str) -> AclState:
        """This state with ``capability`` given to ``identity_id``."""
        return self._with(capability, self.holders(capability) | {identity_id})

    def revoked(self, capability: str, identity_id: str) -> AclState:
        """This state with ``capability`` taken from ``identity_id``."""
        return self._with(capability, self.holders(capability) - {identity_id})

    def _with(self, capability: str, ids: frozenset[str]) -> AclState:
        if capability == "admin":
            return AclState(ids, self.write, self.read)
        if capability == "write":
            return AclState(self.admin, ids, self.read)
        return AclState(self.admin, self.write, ids)

    def to_dict(self) -> dict[str, list[str]]:
        """``{capability: sorted ids}``."""
        return {"admin": sorted(self.admin), "write": sorted(self.write), "read": sorted(self.read)}


@dataclass(frozen=True, slots=True)
class ControlState:
    """Capabilities and schema at some point of the log; ``schema_ops`` are the SCHEMA ops folded in."""

    acl: AclState
    schema: Schema | None = None
    schema_ops: frozenset[str] = _EMPTY


@dataclass(frozen=True, slots=True)
class Verdict:
    """Why an entry is invalid: the error class to raise at join and the message."""

    error: type[OrbitStoreError]
    message: str

    def exception(self) -> OrbitStoreError:
        """The exception to raise."""
        return self.error(self.message)


@dataclass(slots=True, eq=False)
class Node:
    """What the causal index keeps of one entry."""

    hash: str
    writer: str
    time: int
    clock: str
    next: tuple[str, ...]
    op: Op
    past: frozenset[str]
    closure: frozenset[str] = field(init=False)
    order: tuple[int, str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.closure = self.past | {self.hash} if self.op.control else self.past
        self.order = (self.time, self.clock, self.hash)


def _order(node: Node) -> tuple[int, str, str]:
    return node.order


class CausalAcl:
    """The validity of every entry of a dataset log (see the module docstring for the rules)."""

    def __init__(self, genesis: AclState) -> None:
        self.genesis = ControlState(genesis)
        self.nodes: dict[str, Node] = {}
        self.valid: dict[str, bool] = {}
        #: Bumped whenever the validity of an already-added entry changes (readers rebuild then).
        self.version = 0
        self._pending: dict[str, Node] = {}
        self._controls: list[Node] = []
        self._revokes = 0
        self._in_force: dict[tuple[str, str], list[Node]] = {}
        self._accepted: dict[str, frozenset[str]] = {}
        self._states: dict[frozenset[str], ControlState] = {}
        self._interned: dict[frozenset[str], frozenset[str]] = {}

    # -- nodes -----------------------------------------------------------------------------------

    def get(self, h: str) -> Node | None:
        """The node of entry ``h`` (added or pending), or ``None``."""
        node = self.nodes.get(h)
        return node if node is not None else self._pending.get(h)

    def past_of(self, parents: Iterable[str]) -> frozenset[str]:
        """The control operations in the causal past of an entry whose ``next`` is ``parents``."""
        sets: list[frozenset[str]] = []
        for h in parents:
            node = self.get(h)
            if node is None:
                raise DatabaseError(f"dataset index is missing entry {h}; join entries through the database")
            sets.append(node.closure)
        if not sets:
            return _EMPTY
        first = sets[0]
        if all(s is first for s in sets):
            return first
        union = first.union(*sets[1:])
        for s in sets:
            if len(s) == len(union):
                return s
        return self._interned.setdefault(union, union)

    def node(self, h: str, writer: str, time: int, clock: str, parents: tuple[str, ...], op: Op) -> Node:
        """A node for entry ``h`` (its parents must be known)."""
        return Node(h, writer, time, clock, parents, op, self.past_of(parents))

    # -- control states --------------------------------------------------------------------------

    def state_of(self, past: frozenset[str]) -> ControlState:
        """The control state after the valid control operations in ``past`` (memoized per set)."""
        memo = self._states
        got = memo.get(past)
        if got is not None:
            return got
        chain: list[Node] = []
        current = past
        while current and current not in memo:
            top = max((self._need(h) for h in current), key=_order)
            if len(top.closure) != len(current):
                break  # a merge: fold it whole below
            chain.append(top)
            current = top.past
        if not current:
            state = self.genesis
        elif current in memo:
            state = memo[current]
        else:
            state = self.genesis
            for node in sorted((self._need(h) for h in current), key=_order):
                state = self._apply(state, node)
            memo[current] = state
        for node in reversed(chain):
            state = self._apply(state, node)
            memo[node.closure] = state
        return state

    def _need(self, h: str) -> Node:
        node = self.get(h)
        if node is None:
            raise DatabaseError(f"dataset index is missing control entry {h}")
        return node

    def _apply(self, state: ControlState, node: Node) -> ControlState:
        if not self.valid.get(node.hash, False):
            return state
        op = node.op
        if op.kind == GRANT:
            return ControlState(state.acl.granted(op.capability, op.subject), state.schema, state.schema_ops)
        if op.kind == REVOKE:
            return ControlState(state.acl.revoked(op.capability, op.subject), state.schema, state.schema_ops)
        if op.kind == SCHEMA and op.schema is not None:
            linear = state.schema is None or state.schema_ops <= node.past
            schema = op.schema if linear or state.schema is None else state.schema.merge(op.schema)
            return ControlState(state.acl, schema, state.schema_ops | {node.hash})
        return state

    def current(self) -> ControlState:
        """The control state after every valid control operation of the log."""
        every = frozenset(n.hash for n in self._controls)
        return self.state_of(self._interned.setdefault(every, every))

    # -- verdicts --------------------------------------------------------------------------------

    def evaluate(self, node: Node) -> Verdict | None:
        """``None`` when ``node`` is valid now, else why not."""
        state = self.state_of(node.past)
        op = node.op
        cut: Node | None = None
        for capability in op.needs:
            if not state.acl.allows(capability, node.writer):
                continue
            cut = self._cut_off(node, capability)
            if cut is None:
                if op.kind == SCHEMA and state.schema is not None and op.schema is not None:
                    try:
                        state.schema.check_evolution(op.schema)
                    except SchemaError as exc:
                        return Verdict(SchemaError, f"schema change refused: {exc}")
                return None
        if cut is not None:
            return Verdict(
                AccessDenied,
                f"identity {node.writer} was revoked by entry {cut.hash}; "
                f"its entry {node.hash} is on a fork the revoke does not accept",
            )
        needs = " or ".join(op.needs)
        where = f" (entry {node.hash})" if node.hash else ""
        return Verdict(AccessDenied, f"identity {node.writer} does not hold {needs} for {op.kind}{where}")

    def _cut_off(self, node: Node, capability: str) -> Node | None:
        for revoke in self._in_force.get((node.writer, capability), ()):
            if revoke.hash in node.past:
                continue  # the revoke is in its causal past: the control state decided
            if node.op.control and node.hash in revoke.past:
                continue  # a revoke never cuts off control operations it has seen
            if node.hash in self._accepted_by(revoke):
                continue
            return revoke
        return None

    def _accepted_by(self, revoke: Node) -> frozenset[str]:
        """The revoked identity's entries that ``revoke`` accepts: ancestors of its named heads."""
        got = self._accepted.get(revoke.hash)
        if got is not None:
            return got
        target = revoke.op.subject
        seen: set[str] = set()
        out: set[str] = set()
        stack = [h for h in revoke.op.heads]
        while stack:
            h = stack.pop()
            if h in seen:
                continue
            seen.add(h)
            node = self.get(h)
            if node is None:
                continue
            if node.writer == target:
                out.add(h)
            stack.extend(node.next)
        accepted = frozenset(out)
        self._accepted[revoke.hash] = accepted
        return accepted

    def check_revoke_heads(self, node: Node) -> Verdict | None:
        """A REVOKE's named heads must be known entries written by the revoked identity."""
        for h in node.op.heads:
            head = self.get(h)
            if head is None:
                return Verdict(DatabaseError, f"REVOKE {node.hash} names head {h}, which is not in its causal past")
            if head.writer != node.op.subject:
                return Verdict(DatabaseError, f"REVOKE {node.hash} names head {h}, not written by {node.op.subject}")
        return None

    # -- adding ----------------------------------------------------------------------------------

    def stage(self, node: Node) -> Verdict | None:
        """Evaluate a node of a join or append in progress and keep it pending (see :meth:`commit`)."""
        verdict = self.check_revoke_heads(node) if node.op.kind == REVOKE else None
        if verdict is None:
            verdict = self.evaluate(node)
        self._pending[node.hash] = node
        self.valid[node.hash] = verdict is None
        return verdict

    def discard(self) -> None:
        """Forget every pending node (the join or append failed)."""
        if not self._pending:
            return
        control = False
        for h, node in self._pending.items():
            self.valid.pop(h, None)
            control = control or node.op.control
        self._pending.clear()
        if control:
            self._states.clear()

    def commit(self, hashes: Iterable[str]) -> list[Node]:
        """Add the pending nodes ``hashes`` (parents first); returns them."""
        out: list[Node] = []
        for h in hashes:
            node = self._pending.pop(h, None)
            if node is not None:
                self.add(node)
                out.append(node)
        self.discard()
        return out

    def add(self, node: Node) -> None:
        """Add one node whose parents are added; re-evaluate the log when a revoke may change verdicts."""
        self.nodes[node.hash] = node
        if not node.op.control:
            self.valid[node.hash] = self.evaluate(node) is None
            return
        bisect.insort(self._controls, node, key=_order)
        if node.op.kind == REVOKE:
            self._revokes += 1
        if self._revokes:
            self.recompute()
        else:
            self.valid[node.hash] = self.evaluate(node) is None

    def load(self, nodes: Iterable[Node]) -> None:
        """Add many nodes (parents first) and evaluate once: how an index is rebuilt."""
        for node in nodes:
            self.nodes[node.hash] = node
            if node.op.control:
                self._controls.append(node)
                if node.op.kind == REVOKE:
                    self._revokes += 1
        self._controls.sort(key=_order)
        self.recompute()

    # -- evaluation of the whole log -------------------------------------------------------------

    def recompute(self) -> None:
        """Re-evaluate every node: control operations to a fixpoint, then data."""
        controls = self._controls
        revokes = [n for n in controls if n.op.kind == REVOKE and n.op.capability in _CUT_CAPS and n.op.subject != "*"]
        in_force: set[str] = set()
        for _ in range(2 * len(revokes) + 2):
            self._control_pass(controls, revokes, in_force)
            changes = [r for r in revokes if self.valid[r.hash] != (r.hash in in_force)]
            if not changes:
                break
            in_force ^= {changes[0].hash}
        else:  # no fixpoint within the bound (pathological): keep the revokes valid now
            in_force = {r.hash for r in revokes if self.valid[r.hash]}
            self._control_pass(controls, revokes, in_force)
        before = {h: v for h, v in self.valid.items() if h in self.nodes and not self.nodes[h].op.control}
        changed = False
        for h, node in self.nodes.items():
            if node.op.control:
                continue
            ok = self.evaluate(node) is None
            self.valid[h] = ok
            if before.get(h, ok) != ok:
                changed = True
        if changed:
            self.version += 1

    def _control_pass(self, controls: list[Node], revokes: list[Node], in_force: set[str]) -> None:
        self._states.clear()
        index: dict[tuple[str, str], list[Node]] = {}
        for r in revokes:
            if r.hash in in_force:
                index.setdefault((r.op.subject, r.op.capability), []).append(r)
        old = {n.hash: self.valid.get(n.hash) for n in controls}
        self._in_force = index
        for node in controls:
            self.valid[node.hash] = False  # undecided ones must not count while folding
        for node in controls:
            self.valid[node.hash] = self.evaluate(node) is None
        if any(old[n.hash] is not None and old[n.hash] != self.valid[n.hash] for n in controls):
            self.version += 1

    # -- views -----------------------------------------------------------------------------------

    def invalid(self) -> list[str]:
        """Hashes of added entries that are not valid, in total order."""
        bad = [self.nodes[h] for h, ok in self.valid.items() if not ok and h in self.nodes]
        return [n.hash for n in sorted(bad, key=_order)]

    def effective_heads(self, heads: Iterable[str]) -> tuple[list[str], int]:
        """The maximal valid entries (sorted) and how many entries their causal past holds.

        Normally the log's heads and every entry; entries cut off by a revoke (and
        not below a valid entry) are left out, so a peer that refused them and one
        that stored them name the same version.
        """
        if all(self.valid.get(h, False) for h in self.nodes):
            return sorted(heads), len(self.nodes)
        covered: set[str] = set()
        out: list[str] = []
        for node in sorted(self.nodes.values(), key=_order, reverse=True):
            if node.hash in covered or self.valid.get(node.hash, False):
                if node.hash not in covered:
                    out.append(node.hash)
                covered.update(node.next)
        return sorted(out), len(out) + len(covered)

    def restricted(self, keep: Mapping[str, Node]) -> CausalAcl:
        """A fresh index over ``keep`` only (e.g. the causal past of a snapshot's heads)."""
        other = CausalAcl(self.genesis.acl)
        other.load(sorted(keep.values(), key=_order))
        return other

    def ancestors(self, heads: Iterable[str]) -> dict[str, Node]:
        """Every added node reachable from ``heads`` (inclusive)."""
        out: dict[str, Node] = {}
        stack = list(heads)
        while stack:
            h = stack.pop()
            if h in out:
                continue
            node = self.nodes.get(h)
            if node is None:
                continue
            out[h] = node
            stack.extend(node.next)
        return out
