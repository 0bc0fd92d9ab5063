"""Lamport clocks and the LastWriteWins order of OrbitDB."""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["Clock", "compare_clocks", "descending_id_key"]


@dataclass(frozen=True, slots=True)
class Clock:
    """A Lamport clock: ``id`` is the writer's public key (hex), ``time`` a non-negative integer."""

    id: str
    time: int = 0

    def tick(self) -> Clock:
        """The next clock of the same writer."""
        return Clock(self.id, self.time + 1)

    def merge(self, other: Clock) -> Clock:
        """This writer's clock advanced to at least ``other``'s time."""
        return Clock(self.id, max(self.time, other.time))


def _utf16(text: str) -> tuple[int, ...]:
    raw = text.encode("utf-16-be", "surrogatepass")
    return struct.unpack(f">{len(raw) // 2}H", raw)


def compare_clocks(a: Clock, b: Clock) -> int:
    """OrbitDB's ``compareClocks``: by time, then by id as JS compares strings (UTF-16 code units)."""
    if a.time != b.time:
        return a.time - b.time
    if a.id == b.id:
        return 0
    return -1 if _utf16(a.id) < _utf16(b.id) else 1


def descending_id_key(clock_id: str) -> tuple[int, ...]:
    """A key that orders clock ids in *reverse* JS string order, for min-heaps.

    Each UTF-16 code unit is negated, and a final ``1`` makes a prefix sort after
    its extensions (so ``"ab"`` > ``"a"`` still holds once reversed).
    """
    return (*(-u for u in _utf16(clock_id)), 1)
