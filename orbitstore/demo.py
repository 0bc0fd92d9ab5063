"""``make demo``: the main job, end to end, on embedded defaults.

Run with ``python -m orbitstore.demo [--dir DIR] [--rpc URL]``. Three nodes (alice, bob, carol)
share a health dataset made from a CSV that ships with scikit-learn; bob is granted write access,
carol is granted and then revoked and her forked write is refused; alice snapshots the dataset,
anchors the snapshot (local ledger by default, an EVM chain with ``--rpc``), trains a Random
Forest on it, predicts, and verifies the whole provenance chain. Nothing leaves this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import orbitstore
from orbitstore.errors import AccessDenied
from orbitstore.store import OrbitStore

__all__ = ["main", "run"]


def _say(step: str, detail: str) -> None:
    print(f"  {step:<22} {detail}", flush=True)


def shipped_csv(target: Path) -> tuple[Path, str]:
    """Write scikit-learn's shipped breast-cancer CSV with a proper header; return it and the target column."""
    from importlib import resources

    from sklearn.datasets import load_breast_cancer

    names = [n.replace(" ", "_") for n in load_breast_cancer().feature_names]
    source = resources.files("sklearn.datasets") / "data" / "breast_cancer.csv"
    with source.open("r", encoding="utf-8") as raw, target.open("w", newline="", encoding="utf-8") as out:
        rows = csv.reader(raw)
        next(rows)  # scikit-learn's own header: sample and feature counts, class names
        writer = csv.writer(out)
        writer.writerow(["patient", *names, "diagnosis"])
        for i, row in enumerate(rows):
            # The file's last column is 0 = malignant, 1 = benign.
            writer.writerow([f"p{i:04d}", *row[:-1], "malignant" if row[-1] == "0" else "benign"])
    return target, "diagnosis"


async def _sync(to: Any, source: OrbitStore, from_db: Any) -> None:
    """Replicate ``from_db``'s heads into ``to`` (the blocks come from ``source``'s block store)."""
    for head in await from_db.heads():
        await to.join_entry(head, fetch=source.blocks.get)


async def run(directory: Path, *, rpc: str | None = None) -> dict[str, Any]:
    """Run the demo in ``directory``; return the summary it prints."""
    import mlbridge
    from orbitstore.anchoring import Anchorer, AnchorerOptions, verify_receipt

    started = time.perf_counter()
    summary: dict[str, Any] = {}
    async with (
        orbitstore.open(directory / "alice", identity="alice") as alice,
        orbitstore.open(directory / "bob", identity="bob") as bob,
        orbitstore.open(directory / "carol", identity="carol") as carol,
    ):
        who = ", ".join(f"{n} {s.identity.id[:12]}…" for n, s in (("alice", alice), ("bob", bob), ("carol", carol)))
        _say("identities", who)

        # -- a dataset from a CSV that ships with scikit-learn ------------------------------------
        csv_path, target = shipped_csv(directory / "breast_cancer.csv")
        data = await alice.open("breast-cancer", type="dataset")
        rows = await data.import_csv(csv_path, id_column="patient", target=target)
        _say("dataset", f"{rows} records imported into {data.address}")

        # -- a second writer is granted, a third is granted and then revoked ----------------------
        await data.grant("write", bob.identity.id)
        await data.grant("write", carol.identity.id)
        for store in (bob, carol):
            await _copy_manifest(alice, store, str(data.address))
        bob_data = await bob.open(str(data.address))
        carol_data = await carol.open(str(data.address))
        await _sync(bob_data, alice, data)
        await _sync(carol_data, alice, data)
        extra = await _copy_row(data, "p0000", "bob-0001")
        await bob_data.put("bob-0001", extra)
        await _sync(data, bob, bob_data)
        _say("second writer", f"bob granted write; his record replicated ({await data.count()} records)")
        await carol_data.put("carol-0001", await _copy_row(data, "p0001", "carol-0001"))
        await _sync(data, carol, carol_data)
        await carol_data.put("carol-fork", await _copy_row(data, "p0002", "carol-fork"))  # not shared yet
        await data.revoke("write", carol.identity.id)
        try:
            await _sync(data, carol, carol_data)
            refused = "ACCEPTED (unexpected)"
        except AccessDenied:
            refused = "refused (AccessDenied)"
        _say("revoked writer", f"carol revoked; her write on a fork made before the revoke was {refused}")
        summary["records"] = await data.count()

        # -- snapshot and anchor ---------------------------------------------------------------------
        snap = await data.snapshot()
        _say("snapshot", f"{snap.cid} ({snap.records} records, {snap.entries} entries)")
        backend, label = await _backend(alice, directory, rpc)
        options = AnchorerOptions(max_batch=1000, max_delay=0.05)
        async with Anchorer(backend, storage=alice.blocks, data_dir=directory / "anchors", options=options) as anchorer:
            handle = await anchorer.submit(snap.cid)
            await anchorer.flush()
            receipt = await handle.wait()
        await data.record_anchor(snap.cid, receipt.id)
        await verify_receipt(receipt, backend=backend, storage=alice.blocks)
        _say("anchor", f"receipt {receipt.id[:20]}… on {label}; verified")

        # -- train, predict, verify provenance -------------------------------------------------------
        result = await mlbridge.train(
            snap.cid, store=alice, estimator="random_forest", random_state=0, anchor=receipt.id
        )
        holdout = result.metrics.get("holdout", {})
        scores = ", ".join(f"{k} {v:.3f}" for k, v in sorted(holdout.items()) if isinstance(v, float))
        _say("train", f"{type(result.estimator).__name__}, card {result.card_cid[:20]}… (holdout: {scores})")
        probe = await data.get("p0100")
        assert probe is not None
        features = {k: v for k, v in probe.items() if k != target}
        prediction = await mlbridge.predict(result.card_cid, [features], store=alice)
        _say("predict", f"patient p0100 → {prediction.values[0]} (recorded: {probe[target]})")
        report = await mlbridge.verify(result.card_cid, store=alice, backend=backend)
        _say("provenance", ", ".join(f"{c.name} {c.status}" for c in report.checks))
        summary.update(
            snapshot=snap.cid,
            receipt=receipt.id,
            anchored_on=label,
            model_card=result.card_cid,
            provenance="verified" if report.ok else "FAILED",
        )
        await backend.aclose()
    summary["seconds"] = round(time.perf_counter() - started, 1)
    return summary


async def _copy_manifest(source: OrbitStore, target: OrbitStore, address: str) -> None:
    """Give ``target`` the manifest and access-controller blocks it needs to open ``address``."""
    from orbitstore.databases.manifest import Address, Manifest

    manifest_hash = Address.parse(address).manifest_hash
    block = await source.blocks.get(manifest_hash)
    assert block is not None
    await target.blocks.put(manifest_hash, block)
    ac = Manifest.decode(block).access_controller.rsplit("/", 1)[-1]
    ac_block = await source.blocks.get(ac)
    if ac_block is not None:
        await target.blocks.put(ac, ac_block)


async def _copy_row(data: Any, record_id: str, new_id: str) -> dict[str, Any]:
    row = await data.get(record_id)
    assert row is not None
    return dict(row)


async def _backend(store: OrbitStore, directory: Path, rpc: str | None) -> tuple[Any, str]:
    if rpc is None:
        from orbitstore.anchoring import LocalLedgerBackend

        ledger = directory / "ledger"
        backend = await LocalLedgerBackend.open(ledger, identities=store.identities, identity=store.identity)
        return backend, "the local ledger (NOT a public chain)"
    from orbitstore.anchoring.backends.evm import EvmBackend, load_evm_key

    key = await load_evm_key(keystore=None)
    evm = await EvmBackend.deploy(rpc, private_key=key)
    return evm, f"the EVM chain at {rpc}"


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m orbitstore.demo``."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=None, help="data directory (default: a fresh temporary one)")
    parser.add_argument("--rpc", default=None, help="anchor on this EVM JSON-RPC URL (key: $ORBITSTORE_EVM_KEY)")
    args = parser.parse_args(argv)
    directory = args.dir or Path(tempfile.mkdtemp(prefix="orbitstore-demo-"))
    directory.mkdir(parents=True, exist_ok=True)
    print(f"orbitstore demo in {directory}")
    try:
        summary = asyncio.run(run(directory, rpc=args.rpc))
    finally:
        if args.dir is None:
            shutil.rmtree(directory, ignore_errors=True)
    print("summary:")
    for key, value in summary.items():
        print(f"  {key}: {value}")
    return 0 if summary.get("provenance") == "verified" else 1


if __name__ == "__main__":
    raise SystemExit(main())
