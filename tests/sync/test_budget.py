"""Per-peer budgets: drop over the rate, cut off far over it or after invalid input, bounded memory."""

from __future__ import annotations

import pytest

from orbitstore.errors import ConfigError, PeerBudgetExceeded
from orbitstore.sync import Admission, PeerBudget, PeerLedger


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_messages_over_the_rate_are_dropped_then_the_peer_is_cut_off() -> None:
    clock = Clock()
    ledger = PeerLedger(PeerBudget(messages_per_second=10, message_burst=5, cooldown=60), clock=clock)
    assert [ledger.admit_message("p", 10) for _ in range(5)] == [Admission.ADMIT] * 5
    assert ledger.admit_message("p", 10) is Admission.DROP  # bucket empty: dropped, peer stays
    clock.now += 1.0  # refills 10 tokens: the debt of 1 is paid back, the rest capped at the burst
    assert [ledger.admit_message("p", 10) for _ in range(5)] == [Admission.ADMIT] * 5
    outcomes = [ledger.admit_message("p", 10) for _ in range(6)]  # a debt of more than the burst: cut off
    assert outcomes == [Admission.DROP] * 5 + [Admission.CUT_OFF]
    assert ledger.is_cut_off("p")
    assert isinstance(ledger.cut_offs()["p"], PeerBudgetExceeded)
    assert ledger.admit_message("p", 10) is Admission.IGNORED
    assert ledger.admit_message("q", 10) is Admission.ADMIT  # other peers are unaffected
    clock.now += 61  # cooldown over: a fresh start
    assert not ledger.is_cut_off("p")
    assert ledger.admit_message("p", 10) is Admission.ADMIT
    assert ledger.cut_offs() == {}


def test_bytes_are_charged_and_cut_off_far_over_budget() -> None:
    clock = Clock()
    ledger = PeerLedger(PeerBudget(bytes_per_second=100, byte_burst=1000), clock=clock)
    assert ledger.admit_message("p", 1000) is Admission.ADMIT
    assert ledger.admit_message("p", 10) is Admission.DROP
    assert ledger.charge_bytes("p", 900) is Admission.ADMIT  # fetched bytes are never dropped
    assert ledger.charge_bytes("p", 200) is Admission.CUT_OFF
    assert "byte rate" in str(ledger.cut_offs()["p"])


def test_invalid_input_cuts_off_past_the_limit() -> None:
    ledger = PeerLedger(PeerBudget(max_invalid=2))
    assert ledger.invalid("p", "bad") is Admission.ADMIT
    assert ledger.invalid("p", "bad") is Admission.ADMIT
    assert ledger.invalid_count("p") == 2
    assert ledger.invalid("p", "forged signature") is Admission.CUT_OFF
    assert "forged signature" in str(ledger.cut_offs()["p"])


def test_the_number_of_tracked_peers_is_bounded() -> None:
    ledger = PeerLedger(PeerBudget(max_peers=2, max_invalid=0))
    assert ledger.admit_message("a", 1) is Admission.ADMIT
    assert ledger.invalid("b", "bad") is Admission.CUT_OFF
    assert ledger.admit_message("c", 1) is Admission.ADMIT  # "a" (not cut off) is forgotten
    assert ledger.is_cut_off("b")  # a cut-off peer is never forgotten early
    assert ledger.invalid("c", "bad") is Admission.CUT_OFF
    assert ledger.admit_message("d", 1) is Admission.IGNORED  # both slots hold cut-off peers


@pytest.mark.parametrize(
    "options",
    [{"messages_per_second": 0}, {"byte_burst": 0}, {"max_pending": 0}, {"max_invalid": -1}, {"cooldown": -1}],
)
def test_bad_budgets_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        PeerBudget(**options)  # type: ignore[arg-type]
