// SPDX-License-Identifier: MIT
// orbitstore anchor contract: one transaction per Merkle batch, nothing stored,
// only an event. The event's log is what a receipt points at and what the
// verifier checks (root, sender, leaf count, free-form meta text).
pragma solidity 0.8.37;

contract Anchor {
    /// A Merkle root over `count` sorted, de-duplicated CIDs, anchored by `by`.
    event Anchored(bytes32 indexed root, address indexed by, uint256 count, string meta);

    /// Emit `Anchored(root, msg.sender, count, meta)`. A zero root or an empty batch reverts.
    function anchor(bytes32 root, uint256 count, string calldata meta) external {
        require(root != bytes32(0), "Anchor: zero root");
        require(count != 0, "Anchor: empty batch");
        emit Anchored(root, msg.sender, count, meta);
    }
}
