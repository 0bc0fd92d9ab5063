"""Anchoring benchmark: Merkle tree + receipts for 10k and 100k CIDs, gas per anchor, verify latency.

Run on demand, not a test::

    python benchmarks/bench_anchoring.py                 # 10k and 100k CIDs, anvil if installed
    python benchmarks/bench_anchoring.py --sizes 10000   # one size

Targets (issue #6, 2-core machine): tree and receipts for 10k CIDs in ≤ 1 s; one transaction per batch
whatever its size (gas reported); verifying one receipt against anvil in ≤ 20 ms.
anvil comes from ``tools/anvil`` (npm) or ``$ORBITSTORE_ANVIL_BIN``; without it the chain figures are skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hexbytes import HexBytes

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orbitstore.anchoring import (  # noqa: E402
    Anchorer,
    AnchorerOptions,
    LocalLedgerBackend,
    MerkleTree,
    verify_receipt,
)
from orbitstore.anchoring.receipt import AnchorFacts, batch_receipts  # noqa: E402
from orbitstore.codec import CID  # noqa: E402
from orbitstore.identities import Identities  # noqa: E402
from orbitstore.storage.memory import MemoryStorage  # noqa: E402

FAKE_FACTS = AnchorFacts(
    kind="evm",
    chain_id=31337,
    contract="0x5FbDB2315678afecb367f032d93F642f64180aa3",
    tx_hash=bytes(32),
    block_number=1,
    block_hash=bytes(32),
    timestamp=1_700_000_000,
    sender="0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
)


def cids_of(count: int, salt: bytes = b"") -> list[CID]:
    """``count`` dag-cbor CIDs (sha2-256 of counters: the tree does not care what they name)."""
    return [CID(1, 0x71, b"\x12\x20" + hashlib.sha256(salt + i.to_bytes(8, "big")).digest()) for i in range(count)]


def bench_tree(size: int) -> dict[str, float]:
    cids = cids_of(size)
    started = time.perf_counter()
    tree = MerkleTree(cids)
    built = time.perf_counter()
    receipts = list(batch_receipts(tree, cids, FAKE_FACTS))
    done = time.perf_counter()
    sizes = [len(block) for _, block, _ in receipts]
    return {
        "tree_ms": (built - started) * 1000,
        "receipts_ms": (done - built) * 1000,
        "total_ms": (done - started) * 1000,
        "receipt_bytes_avg": statistics.fmean(sizes),
        "receipt_bytes_total": float(sum(sizes)),
        "path_steps": float(len(receipts[0][0].path)),
    }


async def bench_service(size: int) -> dict[str, float]:
    """The whole service on the local ledger: submit_many, flush (tree, one record, receipts into storage)."""
    identities = await Identities.open()
    me = await identities.create_identity("bench")
    with tempfile.TemporaryDirectory(prefix="bench-anchor-") as directory:
        ledger = await LocalLedgerBackend.open(Path(directory) / "ledger", identities=identities, identity=me)
        storage = MemoryStorage()
        options = AnchorerOptions(max_batch=size, max_delay=3600)
        try:
            async with Anchorer(ledger, storage=storage, data_dir=directory, options=options) as anchorer:
                started = time.perf_counter()
                handles = await anchorer.submit_many(cids_of(size, b"svc"))
                submitted = time.perf_counter()
                await anchorer.flush()
                flushed = time.perf_counter()
                receipt = await handles[size // 2].wait()
                verify_times = []
                for _ in range(50):
                    t = time.perf_counter()
                    await verify_receipt(receipt.id, storage=storage, backend=ledger)
                    verify_times.append(time.perf_counter() - t)
        finally:
            await ledger.aclose()
    return {
        "submit_ms": (submitted - started) * 1000,
        "flush_ms": (flushed - submitted) * 1000,
        "local_verify_ms": statistics.median(verify_times) * 1000,
    }


async def bench_chain(sizes: list[int]) -> dict[str, Any] | None:
    from orbitstore.anchoring.backends.evm import EvmBackend
    from tests.anchoring.conftest import ANVIL_KEYS, anvil_binary, start_anvil, stop_anvil

    binary = anvil_binary()
    if binary is None:
        return None
    proc, node = start_anvil(binary)
    out: dict[str, Any] = {"anvil": str(binary)}
    try:
        backend = await EvmBackend.deploy(node.url, private_key=bytes.fromhex(ANVIL_KEYS[0]))
        verifier = await EvmBackend.connect(node.url, contract=backend.contract)
        try:
            for size in sizes:
                cids = cids_of(size, b"chain")
                tree = MerkleTree(cids)
                facts = await backend.anchor(tree.root, len(tree), "orbitstore/anchor v1")
                mined: Any = await backend.w3.eth.get_transaction_receipt(HexBytes(facts.tx_hash))
                out[f"gas_{size}"] = int(mined["gasUsed"])
                receipt = next(r for r, _, _ in batch_receipts(tree, cids, facts))
                for _ in range(10):  # warm the connection
                    await verify_receipt(receipt, backend=verifier)
                times = []
                for _ in range(200):
                    t = time.perf_counter()
                    await verify_receipt(receipt, backend=verifier)
                    times.append(time.perf_counter() - t)
                out[f"verify_{size}_median_ms"] = statistics.median(times) * 1000
                out[f"verify_{size}_p95_ms"] = sorted(times)[int(len(times) * 0.95)] * 1000
            started = time.perf_counter()
            rounds = 50
            for i in range(rounds):
                await backend.anchor(hashlib.sha256(bytes([i])).digest(), 1, "")
            out["anchors_per_s"] = rounds / (time.perf_counter() - started)
        finally:
            await verifier.aclose()
            await backend.aclose()
    finally:
        stop_anvil(proc)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    print(f"{'CIDs':>8} {'tree ms':>9} {'receipts ms':>12} {'total ms':>9} {'steps':>6} {'bytes/receipt':>14}")
    for size in args.sizes:
        r = bench_tree(size)
        print(
            f"{size:>8} {r['tree_ms']:>9.1f} {r['receipts_ms']:>12.1f} {r['total_ms']:>9.1f} "
            f"{r['path_steps']:>6.0f} {r['receipt_bytes_avg']:>14.0f}   ({r['receipt_bytes_total'] / 2**20:.1f} MiB)"
        )
    print()
    print("service on the local ledger (submit_many + flush, receipts into MemoryStorage):")
    for size in args.sizes:
        s = asyncio.run(bench_service(size))
        print(
            f"  {size:>8} CIDs: submit {s['submit_ms']:.0f} ms, flush {s['flush_ms']:.0f} ms, "
            f"verify one receipt {s['local_verify_ms']:.2f} ms (re-checks the ledger file)"
        )
    print()
    chain = asyncio.run(bench_chain(args.sizes))
    if chain is None:
        print("anvil not found: chain figures skipped (npm ci in tools/anvil, or set ORBITSTORE_ANVIL_BIN)")
        return
    print(f"anvil ({chain['anvil']}):")
    for size in args.sizes:
        print(
            f"  batch of {size:>7}: one tx, {chain[f'gas_{size}']} gas; verify one receipt "
            f"median {chain[f'verify_{size}_median_ms']:.2f} ms, p95 {chain[f'verify_{size}_p95_ms']:.2f} ms"
        )
    print(f"  sequential anchors (each waits for its receipt): {chain['anchors_per_s']:.0f}/s")


if __name__ == "__main__":
    main()
