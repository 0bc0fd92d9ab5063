"""Datasets (import/export/schema/snapshot), anchors, access and sync; the ``ml`` commands are in :mod:`.ml`.

Each calls the API method of the same name; where the node lacks the part
behind it (sync in a one-shot process: replication runs in the daemon) the
API raises ``NotAvailable`` and the command exits non-zero with
``not available yet: <part>`` — never a made-up result.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from orbitstore.api import AccessInfo, PeerInfo, SyncStatus
from orbitstore.cli._common import CONTEXT, connect, emit, parse_json, run, show

__all__ = ["acl", "anchor", "export", "import_", "peers", "schema", "snapshot", "sync", "verify"]


# -- datasets --------------------------------------------------------------------------------------


@click.command("import", context_settings=CONTEXT)
@click.argument("db_ref", metavar="DB")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="FILE")
@click.option("--id-column", default=None, metavar="COLUMN", help="the column holding record ids")
@click.option("--target", default=None, metavar="COLUMN", help="when the schema is inferred: its target column")
@click.option("--quiet", "-q", is_flag=True, help="no progress bar")
@run
async def import_(db_ref: str, csv_file: Path, id_column: str | None, target: str | None, quiet: bool) -> None:
    """Import the rows of a CSV FILE (with a header line) into a dataset, streamed, with a progress bar.

    Without a schema on the dataset, one is inferred from the file.

    \b
    Example:
      orbitstore import patients data/patients.csv --target diagnosis
      orbitstore import patients more.csv --id-column patient_id
    """
    size = os.path.getsize(csv_file)  # noqa: ASYNC240 - one stat before the upload starts

    async def chunks() -> Any:
        with csv_file.open("rb") as source:
            while chunk := source.read(256 * 1024):
                yield chunk

    with click.progressbar(length=size, label="importing", file=sys.stderr, hidden=quiet) as bar:
        done = 0

        def progress(sent: int, total: int | None) -> None:
            nonlocal done
            bar.update(sent - done)
            done = sent

        async with connect() as api:
            result = await api.import_csv(db_ref, chunks(), id_column=id_column, target=target, progress=progress)
    emit(result, lambda r: f"imported {r.rows} rows into {r.address}")


@click.command(context_settings=CONTEXT)
@click.argument("db_ref", metavar="DB")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None, help="file (default stdout)"
)
@run
async def export(db_ref: str, output: Path | None) -> None:
    """Write a dataset's live records as CSV (an id column, then the schema's columns).

    \b
    Example:
      orbitstore export patients -o patients.csv
    """
    async with connect() as api:
        stream = api.export_csv(db_ref)
        if output is None:
            async for chunk in stream:
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
        else:
            with output.open("wb") as out:
                async for chunk in stream:
                    out.write(chunk)


@click.command(context_settings=CONTEXT)
@click.argument("db_ref", metavar="DB")
@click.option("--set", "new_schema", default=None, metavar="JSON", help="set or evolve the schema (- reads stdin)")
@run
async def schema(db_ref: str, new_schema: str | None) -> None:
    """Show a dataset's schema, or set it with --set.

    \b
    Example:
      orbitstore schema patients
      orbitstore schema patients --set '{"columns": {"age": "int", "sick": "bool"}, "target": "sick"}'
    """
    async with connect() as api:
        if new_schema is None:
            current = await api.schema(db_ref)
            emit(current, show)
            return
        value = parse_json(new_schema, "--set")
        if not isinstance(value, dict):
            raise click.BadParameter("the schema must be a JSON object", param_hint="--set")
        updated = await api.set_schema(db_ref, value)
    emit(updated, show)


@click.command(context_settings=CONTEXT)
@click.argument("db_ref", metavar="DB")
@run
async def snapshot(db_ref: str) -> None:
    """Freeze a dataset at its current heads; print the snapshot CID (the dataset version).

    \b
    Example:
      orbitstore snapshot patients
    """
    async with connect() as api:
        snap = await api.snapshot(db_ref)
    emit(snap, lambda s: s.cid)


# -- anchoring -------------------------------------------------------------------------------------


@click.command(context_settings=CONTEXT)
@click.argument("cid")
@click.option("--status", "status_only", is_flag=True, help="only show where anchoring CID stands")
@click.option("--no-wait", is_flag=True, help="submit and return; the batch closes on size or time")
@run
async def anchor(cid: str, status_only: bool, no_wait: bool) -> None:
    """Anchor CID (a snapshot or model card): one Merkle batch, one ledger record; print the receipt.

    By default the batch closes at once and the command waits for it. The
    embedded backend is a local ledger, which is not a public chain: the output
    says so.

    \b
    Example:
      orbitstore anchor zdpuB1jr5YW26Mmq8EkedvoEt178Hic97yJ8y2ejGQbWRAUqH
      orbitstore anchor zdpuB1jr5YW26Mmq8EkedvoEt178Hic97yJ8y2ejGQbWRAUqH --status
    """
    async with connect() as api:
        info = await (api.anchor_status(cid) if status_only else api.anchor(cid, wait=not no_wait))

    def human(i: Any) -> str:
        lines = [f"{i.cid}  {i.status}" + (f"  receipt {i.receipt}" if i.receipt else "")]
        if i.reason:
            lines.append(f"reason: {i.reason}")
        if i.backend:
            lines.append(f"backend: {i.backend}")
        return "\n".join(lines)

    emit(info, human)
    if info.status == "failed":
        raise SystemExit(1)


@click.command(context_settings=CONTEXT)
@click.argument("subject")
@run
async def verify(subject: str) -> None:
    """Verify an anchor receipt, or the receipt of a CID anchored here; exit 1 when it does not verify.

    \b
    Example:
      orbitstore verify zdpuB1jr5YW26Mmq8EkedvoEt178Hic97yJ8y2ejGQbWRAUqH
    """
    async with connect() as api:
        result = await api.verify(subject)

    def human(r: Any) -> str:
        lines = [f"verified: {r.description}" if r.ok else f"NOT verified: {r.failed}"]
        if r.ok:
            lines.append(f"checks: {', '.join(r.checks)}")
        if r.backend:
            lines.append(f"backend: {r.backend}")
        return "\n".join(lines)

    emit(result, human)
    if not result.ok:
        raise SystemExit(1)


# -- access ----------------------------------------------------------------------------------------


def _access_lines(info: AccessInfo) -> str:
    lines = [f"{info.type} access controller ({'mutable' if info.mutable else 'fixed'}) {info.address}"]
    for capability, ids in sorted(info.capabilities.items()):
        lines += [f"{capability:<6} {i}" for i in ids]
    return "\n".join(lines)


@click.group(context_settings=CONTEXT)
def acl() -> None:
    """List, grant and revoke capabilities (write, admin…) on a database.

    \b
    Example:
      orbitstore acl ls team
    """


@acl.command("ls", context_settings=CONTEXT)
@click.argument("db_ref", metavar="DB")
@run
async def acl_ls(db_ref: str) -> None:
    """Show the access controller of DB and who holds which capability.

    \b
    Example:
      orbitstore acl ls team --json
    """
    async with connect() as api:
        info = await api.access(db_ref)
    emit(info, _access_lines)


@acl.command("grant", context_settings=CONTEXT)
@click.argument("db_ref", metavar="DB")
@click.argument("capability")
@click.argument("identity_id", metavar="ID")
@run
async def acl_grant(db_ref: str, capability: str, identity_id: str) -> None:
    """Give identity ID the CAPABILITY on DB (needs an orbitdb access controller).

    \b
    Example:
      orbitstore acl grant team write 03a1b2...
    """
    async with connect() as api:
        info = await api.grant(db_ref, capability, identity_id)
    emit(info, _access_lines)


@acl.command("revoke", context_settings=CONTEXT)
@click.argument("db_ref", metavar="DB")
@click.argument("capability")
@click.argument("identity_id", metavar="ID")
@run
async def acl_revoke(db_ref: str, capability: str, identity_id: str) -> None:
    """Take CAPABILITY on DB from identity ID.

    \b
    Example:
      orbitstore acl revoke team write 03a1b2...
    """
    async with connect() as api:
        info = await api.revoke(db_ref, capability, identity_id)
    emit(info, _access_lines)


# -- sync ------------------------------------------------------------------------------------------


@click.command(context_settings=CONTEXT)
@run
async def peers() -> None:
    """List connected peers.

    \b
    Example:
      orbitstore peers --json
    """
    async with connect() as api:
        found = await api.peers()
    emit(found, lambda ps: "\n".join(_peer_line(p) for p in ps) or "no peers")


def _peer_line(peer: PeerInfo) -> str:
    where = f" ({', '.join(peer.addresses)})" if peer.addresses and peer.addresses != (peer.peer_id,) else ""
    return f"{peer.peer_id}{where}: {len(peer.databases)} database(s)"


@click.group(context_settings=CONTEXT)
def sync() -> None:
    """Replication.

    \b
    Example:
      orbitstore sync status notes
    """


@sync.command("status", context_settings=CONTEXT)
@click.argument("db_ref", metavar="DB")
@run
async def sync_status(db_ref: str) -> None:
    """Show whether DB is in sync with its peers.

    \b
    Example:
      orbitstore sync status notes
    """
    async with connect() as api:
        status = await api.sync_status(db_ref)
    emit(status, _sync_line)


def _sync_line(s: SyncStatus) -> str:
    state = "synced" if s.synced else "syncing"
    return (
        f"{state} ({s.mode}): {s.peers} peers, {s.heads_joined}/{s.heads_known} of their heads joined, "
        f"{s.pending} joins pending, {s.joined_entries} entries received"
    )
