"""What a verifier demands of a receipt beyond its Merkle path: chain, contract, sender, confirmations."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from orbitstore.anchoring.receipt import AnchorFacts
from orbitstore.config import DEFAULT_MIN_CONFIRMATIONS
from orbitstore.errors import ConfigError, ReceiptInvalid

__all__ = ["VerifyPolicy", "check_confirmations", "check_policy"]


@dataclass(frozen=True, slots=True)
class VerifyPolicy:
    """Verification policy.

    ``chain_id``: the chain the receipt must name (``None``: whichever chain the
    backend serves; the backend still checks that its chain is the receipt's).
    ``contracts``: trusted ``Anchor`` contract addresses, or local ledger ids
    (empty: trust only the backend's own contract / ledger). ``senders``: when
    not empty, the sending address (or local ledger key) must be one of these.
    ``min_confirmations``: blocks (or ledger records) at and after the anchoring
    one, at least 1.
    """

    chain_id: int | None = None
    contracts: frozenset[str] = field(default_factory=frozenset)
    senders: frozenset[str] = field(default_factory=frozenset)
    min_confirmations: int = DEFAULT_MIN_CONFIRMATIONS

    def __post_init__(self) -> None:
        if self.min_confirmations < 1:
            raise ConfigError("min_confirmations must be at least 1")
        # Addresses compare case-insensitively (EIP-55 checksums are only a spelling).
        object.__setattr__(self, "contracts", frozenset(c.lower() for c in self.contracts))
        object.__setattr__(self, "senders", frozenset(s.lower() for s in self.senders))

    @classmethod
    def of(
        cls,
        *,
        chain_id: int | None = None,
        contracts: Iterable[str] = (),
        senders: Iterable[str] = (),
        min_confirmations: int = DEFAULT_MIN_CONFIRMATIONS,
    ) -> VerifyPolicy:
        """Build a policy from any iterables of addresses."""
        return cls(chain_id, frozenset(contracts), frozenset(senders), min_confirmations)


def check_policy(facts: AnchorFacts, policy: VerifyPolicy, *, chain_id: int, contract: str) -> None:
    """The checks that need no chain: chain id, trusted contract, trusted sender.

    ``chain_id`` and ``contract`` are the backend's own (what it serves and
    anchors to); ``contract`` is trusted when the policy names none.
    Raises :class:`~orbitstore.errors.ReceiptInvalid` with the failed check.
    """
    if policy.chain_id is not None and facts.chain_id != policy.chain_id:
        raise ReceiptInvalid(f"wrong chain: receipt names chain {facts.chain_id}, policy requires {policy.chain_id}")
    if facts.chain_id != chain_id:
        raise ReceiptInvalid(f"wrong chain: receipt names chain {facts.chain_id}, the backend serves {chain_id}")
    trusted = policy.contracts or frozenset({contract.lower()})
    if facts.contract.lower() not in trusted:
        raise ReceiptInvalid(f"untrusted contract: {facts.contract} is not one of {sorted(trusted)}")
    if policy.senders and facts.sender.lower() not in policy.senders:
        raise ReceiptInvalid(f"untrusted sender: {facts.sender} is not one of {sorted(policy.senders)}")


def check_confirmations(*, block_number: int, head: int, policy: VerifyPolicy) -> int:
    """Confirmations of ``block_number`` when ``head`` is the latest; raise when below the policy's minimum."""
    confirmations = head - block_number + 1
    if confirmations < policy.min_confirmations:
        raise ReceiptInvalid(
            f"too few confirmations: block {block_number} has {max(confirmations, 0)}, "
            f"policy needs {policy.min_confirmations}"
        )
    return confirmations
