"""Per-peer budgets: how much a peer may send before its input is dropped, then before it is cut off.

Pure bookkeeping (the clock is passed in); the replicator asks the ledger
before it spends anything on a peer's input. Each peer has two token buckets,
messages and bytes, each refilled at its rate up to its burst:

* a message arriving with its bucket empty is *dropped* (heads are
  re-announced, so dropping a few is harmless), and the bucket goes into
  debt; once the debt exceeds the burst the peer is *cut off*;
* fetched or streamed bytes are charged the same way, but are never dropped
  (we asked for them): only the cut-off applies;
* each invalid message or entry counts; past ``max_invalid`` the peer is cut off.

A cut-off peer is ignored for ``cooldown`` seconds, then starts afresh. The
ledger keeps at most ``max_peers`` records (the least recently heard peer
that is not cut off is forgotten first), so memory stays bounded whatever
the number of peers.
"""

from __future__ import annotations

import enum
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from orbitstore.errors import ConfigError, PeerBudgetExceeded

__all__ = ["Admission", "PeerBudget", "PeerLedger"]

_MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class PeerBudget:
    """What one peer may cost this node. Every field is a limit per peer."""

    #: Sustained pubsub messages per second …
    messages_per_second: float = 50.0
    #: … and how many may come at once (also the debt tolerated before a cut-off).
    message_burst: int = 500
    #: Sustained bytes per second (messages, fetched and streamed blocks) …
    bytes_per_second: float = 32 * _MiB
    #: … and how many at once (also the debt tolerated before a cut-off).
    byte_burst: int = 256 * _MiB
    #: Invalid messages or entries tolerated; one more cuts the peer off.
    max_invalid: int = 3
    #: Heads from one peer waiting to be joined; more are dropped until some are done.
    max_pending: int = 64
    #: Seconds a cut-off peer is ignored.
    cooldown: float = 600.0
    #: Peers tracked at once.
    max_peers: int = 1024

    def __post_init__(self) -> None:
        if self.messages_per_second <= 0 or self.bytes_per_second <= 0:
            raise ConfigError("budget rates must be positive")
        if min(self.message_burst, self.byte_burst, self.max_pending, self.max_peers) < 1:
            raise ConfigError("budget bursts, max_pending and max_peers must be at least 1")
        if self.max_invalid < 0 or self.cooldown < 0:
            raise ConfigError("max_invalid and cooldown cannot be negative")


class Admission(enum.Enum):
    """The ledger's answer for one piece of input."""

    ADMIT = "admit"  #: within budget: process it
    DROP = "drop"  #: over the rate: drop it (counted), the peer stays
    CUT_OFF = "cut_off"  #: this input crossed a limit: the peer is now cut off
    IGNORED = "ignored"  #: the peer is cut off (or no room to track it): ignore


@dataclass(slots=True)
class _Bucket:
    rate: float
    burst: float
    tokens: float
    stamp: float

    def take(self, amount: float, now: float) -> float:
        """Refill for the time passed, take ``amount``; return the tokens left (negative: debt)."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate) - amount
        self.stamp = now
        return self.tokens


@dataclass(slots=True)
class _Record:
    messages: _Bucket
    bytes: _Bucket
    invalid: int = 0
    cut_until: float | None = None
    reason: PeerBudgetExceeded | None = field(default=None)


class PeerLedger:
    """Tracks every peer's spending against one :class:`PeerBudget`."""

    def __init__(self, budget: PeerBudget, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.budget = budget
        self._clock = clock
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def _record(self, peer: str, now: float) -> _Record | None:
        record = self._records.get(peer)
        if record is not None:
            if record.cut_until is not None and now >= record.cut_until:
                record = None  # cooldown over: start afresh
            else:
                self._records.move_to_end(peer)
                return record
        if record is None and peer not in self._records and len(self._records) >= self.budget.max_peers:
            victim = next((p for p, r in self._records.items() if r.cut_until is None), None)
            if victim is None:
                return None  # every tracked peer is cut off: no room
            del self._records[victim]
        b = self.budget
        record = _Record(
            _Bucket(b.messages_per_second, b.message_burst, b.message_burst, now),
            _Bucket(b.bytes_per_second, b.byte_burst, b.byte_burst, now),
        )
        self._records[peer] = record
        self._records.move_to_end(peer)
        return record

    def _cut(self, peer: str, record: _Record, now: float, why: str) -> Admission:
        record.cut_until = now + self.budget.cooldown
        record.reason = PeerBudgetExceeded(f"peer {peer} cut off for {self.budget.cooldown:g} s: {why}")
        return Admission.CUT_OFF

    def admit_message(self, peer: str, size: int) -> Admission:
        """Account one pubsub message of ``size`` bytes from ``peer``."""
        now = self._clock()
        record = self._record(peer, now)
        if record is None or record.cut_until is not None:
            return Admission.IGNORED
        messages = record.messages.take(1, now)
        data = record.bytes.take(size, now)
        if messages < -record.messages.burst:
            return self._cut(peer, record, now, "message rate far over budget (flooding)")
        if data < -record.bytes.burst:
            return self._cut(peer, record, now, "byte rate far over budget")
        if messages < 0 or data < 0:
            return Admission.DROP
        return Admission.ADMIT

    def charge_bytes(self, peer: str, size: int) -> Admission:
        """Account ``size`` bytes fetched or streamed on behalf of ``peer`` (never dropped, only cut off)."""
        now = self._clock()
        record = self._record(peer, now)
        if record is None or record.cut_until is not None:
            return Admission.IGNORED
        if record.bytes.take(size, now) < -record.bytes.burst:
            return self._cut(peer, record, now, "byte rate far over budget")
        return Admission.ADMIT

    def invalid(self, peer: str, reason: str) -> Admission:
        """Count one invalid message or entry from ``peer``."""
        now = self._clock()
        record = self._record(peer, now)
        if record is None or record.cut_until is not None:
            return Admission.IGNORED
        record.invalid += 1
        if record.invalid > self.budget.max_invalid:
            return self._cut(peer, record, now, f"{record.invalid} invalid messages or entries (last: {reason})")
        return Admission.ADMIT

    def is_cut_off(self, peer: str) -> bool:
        """True while ``peer`` is cut off."""
        record = self._records.get(peer)
        return record is not None and record.cut_until is not None and self._clock() < record.cut_until

    def invalid_count(self, peer: str) -> int:
        """Invalid messages or entries counted for ``peer`` since its record started."""
        record = self._records.get(peer)
        return record.invalid if record is not None else 0

    def cut_offs(self) -> dict[str, PeerBudgetExceeded]:
        """Every peer cut off now, with the recorded reason."""
        now = self._clock()
        return {
            peer: record.reason
            for peer, record in self._records.items()
            if record.reason is not None and record.cut_until is not None and now < record.cut_until
        }
