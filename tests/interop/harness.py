"""The Python side of the JS OrbitDB interop harness (see docs/interop.md).

Blocks travel between orbitstore and JS OrbitDB 3.0.2 as files; nothing touches a
network. This module has four separate parts, so that a later test can swap the
log-level parts for orbitstore's database API without touching the rest:

* **files and processes**: running the node scripts, reading their dag-json output,
  writing the blocks file that ``read.mjs`` reads;
* **manifests and access control**: the manifest and ``ipfs`` access-controller
  blocks of spec §5.1/§6, and a write-list controller for :class:`Log`;
* **writers**: :class:`LogWriter` turns database operations (events ``add``,
  keyvalue ``put``/``del``, documents ``put``/``del``) into OrbitDB payloads appended
  to a :class:`Log`; :func:`run_rounds` replays a two-writer scenario;
* **views**: what OrbitDB's ``all()`` returns, computed from the log's entries (spec §7).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orbitstore.codec import CID, block_cid, decode, encode
from orbitstore.identities import Identities, Identity, MemoryKeyStore
from orbitstore.log import Entry, EntryLookup, Log
from orbitstore.storage.memory import MemoryStorage

JS_DIR = Path(__file__).resolve().parent / "js"
ORBITDB_PACKAGE = JS_DIR / "node_modules" / "@orbitdb" / "core" / "package.json"
NODE_TIMEOUT = 60.0
REFERENCES_COUNT = 16  # what OrbitDB databases use

#: The fixture keys of spec §12: root private key, root public key (= identity id), identity private key.
FIXTURE_KEYS: dict[str, tuple[str, str, str]] = {
    "userA": (
        "5f74f154ac4591ccf8a67f7edc98971759d684c07f53037ea0d361e2ba3f4683",
        "02e7247a4c155b63d182a23c70cb6fe8ba2e44bc9e9d62dc45d4c4167ccde95944",
        "5c557f3ca56651e22e68ee770da8e7cc6f12d30081f60a3ca4b5f9f3a9a5f9df",
    ),
    "userB": (
        "7824c1579131baa6d6c34736b95c596c6c81afdb2f84654228eb2c75403e4c65",
        "03c2c4887bb3fbc131f6874959a0fbe646d43a200cf81056e22f9405c1f58ba611",
        "4ba52f65ada1d2ca5f70c562202c1a9d9cbef125df78525b0737aff3d13653f4",
    ),
    "userC": (
        "81f78e97259ce190f46141cb5a3d9a9c006557126e8bb752bc78d62d07c1bb3e",
        "02c322b7edb44fe8e0f4d8d70feb8a9c30b30721110a355ec9f200b4e49a4637d4",
        "0b43ca53b8875baf229faed396f0efdd21498984210bb3f4df04364299ee430b",
    ),
}
#: Their identity hashes, as spec §12 gives them.
FIXTURE_IDENTITY_HASHES = {
    "userA": "zdpuAyccZZfi9caz6LfoWkbAxfPvWAVevzcDe2mPG99WHnNK5",
    "userB": "zdpuAs6bt3EaApSobDcDvf4tMmRietwV3aCPYuzftBjizWAjw",
    "userC": "zdpuAurods6Bnrrmiyd5mz9gZthBikgJXxcHoeVWAJuDMCji8",
}


# -- files and processes ---------------------------------------------------------------------------


def find_node() -> str | None:
    """The node binary when it and the JS OrbitDB packages are installed, else ``None``."""
    node = shutil.which("node")
    if node is None or not ORBITDB_PACKAGE.is_file():
        return None
    return node


def _node_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NODE_OPTIONS", "npm_"))}
    env["NODE_NO_WARNINGS"] = "1"
    return env


def run_node_sync(node: str, script: str, *args: str, timeout: float = NODE_TIMEOUT) -> str:
    """Run ``tests/interop/js/<script>`` and return its stdout; raise with stderr on failure."""
    proc = subprocess.run(
        [node, str(JS_DIR / script), *args],
        cwd=JS_DIR,
        env=_node_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"node {script} exited {proc.returncode}:\n{proc.stderr}\n{proc.stdout}")
    return proc.stdout


async def run_node(node: str, script: str, *args: str) -> str:
    """Async :func:`run_node_sync`: the child is killed and reaped if it overruns ``NODE_TIMEOUT``."""
    proc = await asyncio.create_subprocess_exec(
        node,
        str(JS_DIR / script),
        *args,
        cwd=JS_DIR,
        env=_node_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(NODE_TIMEOUT):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"node {script} exited {proc.returncode}:\n{err.decode()}\n{out.decode()}")
    return out.decode()


def _from_dag_json(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and "/" in obj:
        link = obj["/"]
        if isinstance(link, str):
            return CID.parse(link)
        if isinstance(link, dict) and set(link) == {"bytes"}:
            text = link["bytes"]
            return base64.b64decode(text + "=" * (-len(text) % 4))
    return obj


def load_dag_json(path: Path) -> Any:
    """Read a dag-json file: ``{"/": {"bytes": …}}`` becomes bytes and ``{"/": cid}`` a CID."""
    return json.loads(path.read_text("utf-8"), object_hook=_from_dag_json)


def b64decode(text: str) -> bytes:
    """Base64 with or without padding."""
    return base64.b64decode(text + "=" * (-len(text) % 4))


def decode_blocks(blocks: Mapping[str, str]) -> dict[str, bytes]:
    """``{cid: base64}`` → ``{cid: bytes}``."""
    return {cid: b64decode(b64) for cid, b64 in blocks.items()}


@dataclass(frozen=True, slots=True)
class DatabaseFile:
    """One database in a blocks file: what JS needs to open it."""

    name: str
    type: str
    address: str
    heads: list[str]


def write_blocks_file(path: Path, blocks: Mapping[str, bytes], databases: Sequence[DatabaseFile]) -> None:
    """Write the file ``read.mjs`` reads: ``{blocks: {cid: base64}, databases: [{name, type, address, heads}]}``."""
    for cid, block in blocks.items():
        if block_cid(block) != cid:
            raise ValueError(f"block stored under {cid} hashes to {block_cid(block)}")
    doc = {
        "blocks": {cid: base64.b64encode(blocks[cid]).decode("ascii") for cid in sorted(blocks)},
        "databases": [
            {"name": d.name, "type": d.type, "address": d.address, "heads": list(d.heads)} for d in databases
        ],
    }
    path.write_text(json.dumps(doc, indent=1), "utf-8")


# -- manifests and access control ------------------------------------------------------------------


def ipfs_access_controller(write: Iterable[str]) -> tuple[str, bytes]:
    """The ``ipfs`` access-controller block ``{type: 'ipfs', write}`` (spec §5.1) and its address."""
    block = encode({"type": "ipfs", "write": list(write)})
    return "/ipfs/" + block_cid(block), block


def manifest(name: str, type: str, access_controller: str, meta: Any = None) -> tuple[str, bytes]:
    """The manifest block ``{name, type, accessController[, meta]}`` (spec §6) and its address."""
    value: dict[str, Any] = {"name": name, "type": type, "accessController": access_controller}
    if meta is not None:
        value["meta"] = meta
    block = encode(value)
    return "/orbitdb/" + block_cid(block), block


@dataclass(frozen=True, slots=True)
class OpenedManifest:
    """A manifest read back from blocks, with its access controller's write list."""

    address: str
    name: str
    type: str
    access_controller: str
    write: list[str]


def read_manifest(address: str, blocks: Mapping[str, bytes]) -> OpenedManifest:
    """Read a database's manifest and its ``ipfs`` access controller from ``blocks``."""
    cid = address.removeprefix("/orbitdb/")
    value = decode(blocks[cid])
    ac_address = value["accessController"]
    if not ac_address.startswith("/ipfs/"):
        raise ValueError(f"only the 'ipfs' access controller is supported here, not {ac_address}")
    ac = decode(blocks[ac_address.removeprefix("/ipfs/")])
    if ac.get("type") != "ipfs":
        raise ValueError(f"access controller {ac_address} has type {ac.get('type')!r}")
    return OpenedManifest(address, value["name"], value["type"], ac_address, list(ac["write"]))


class WriteList:
    """OrbitDB's ``ipfs`` access controller for :class:`Log`: the writer's identity id must be listed."""

    type = "ipfs"

    def __init__(self, write: Iterable[str]) -> None:
        self.write = frozenset(write)

    async def can_append(self, entry: Entry, identity: Identity, lookup: EntryLookup) -> bool:
        return "*" in self.write or identity.id in self.write


# -- identities ------------------------------------------------------------------------------------


async def fixture_identity(name: str, storage: MemoryStorage | None = None) -> tuple[Identities, Identity]:
    """Identities holding the fixture user ``name`` (both keys imported) and its identity."""
    root, root_public, identity_key = FIXTURE_KEYS[name]
    identities = await Identities.open(keystore=MemoryKeyStore(), storage=storage)
    await identities.import_key(name, root)
    await identities.import_key(root_public, identity_key)
    identity = await identities.create_identity(name)
    assert identity.id == root_public
    return identities, identity


# -- writers ---------------------------------------------------------------------------------------


class LogWriter:
    """One writer's replica of a database, written through :class:`Log` with OrbitDB payloads.

    The verbs are those of OrbitDB's databases, so a scenario can be replayed on
    this class or on anything else with the same methods (orbitstore's databases).
    """

    def __init__(self, log: Log, type: str, *, index_by: str = "_id") -> None:
        self.log = log
        self.type = type
        self.index_by = index_by

    @classmethod
    async def open(cls, name: str, type: str, address: str, write: Iterable[str]) -> LogWriter:
        """A fresh replica of ``address`` for fixture user ``name``, with its own storages."""
        identities, identity = await fixture_identity(name)
        log = await Log.open(identity, identities=identities, log_id=address, access=WriteList(write))
        return cls(log, type)

    async def _append(self, op: str, key: Any, value: Any) -> Entry:
        return await self.log.append({"op": op, "key": key, "value": value}, references_count=REFERENCES_COUNT)

    async def add(self, value: Any) -> Entry:
        """events: ``add(value)``."""
        return await self._append("ADD", None, value)

    async def put(self, key: Any, value: Any = None) -> Entry:
        """keyvalue: ``put(key, value)``; documents: ``put(doc)`` (the key is ``doc[index_by]``)."""
        if self.type == "documents":
            doc = key
            if not doc.get(self.index_by):
                raise ValueError(f"document has no {self.index_by!r} field")
            return await self._append("PUT", doc[self.index_by], doc)
        return await self._append("PUT", key, value)

    async def delete(self, key: Any) -> Entry:
        """keyvalue/documents: ``del(key)``; documents refuse to delete a missing document, as OrbitDB does."""
        if self.type == "documents" and not any(d["key"] == key for d in await self.all()):
            raise KeyError(f"no document with key {key!r}")
        return await self._append("DEL", key, None)

    async def apply(self, operation: Sequence[Any]) -> Entry:
        """Apply one scenario operation: ``["add", v]``, ``["put", k, v]``, ``["put", doc]``, ``["del", k]``."""
        op, *args = operation
        if op == "add":
            return await self.add(*args)
        if op == "put":
            return await self.put(*args)
        if op == "del":
            return await self.delete(*args)
        raise ValueError(f"unknown operation {op!r}")

    async def join(self, other: LogWriter) -> None:
        """Join the other replica's heads (fetching its blocks and identities)."""
        await self.log.join(other.log)

    async def entries(self) -> list[Entry]:
        """The log, oldest first."""
        return await self.log.values()

    async def heads(self) -> list[str]:
        """Head hashes, newest first."""
        return [e.hash for e in await self.log.heads()]

    async def all(self) -> list[dict[str, Any]]:
        """OrbitDB's ``all()`` for this database type."""
        return view(self.type, await self.entries())

    async def blocks(self) -> dict[str, bytes]:
        """Every entry and identity block this replica holds."""
        out: dict[str, bytes] = {}
        for storage in (self.log.entry_storage, self.log.identities.storage):
            async for key, block in storage.items():
                out[key] = block
        return out

    async def aclose(self) -> None:
        await self.log.aclose()


async def run_rounds(a: LogWriter, b: LogWriter, rounds: Sequence[Mapping[str, Sequence[Any]]]) -> None:
    """Replay a scenario as ``write.mjs`` runs it: per round, A's operations, B's, then both join."""
    for round_ in rounds:
        for op in round_.get("A", ()):
            await a.apply(op)
        for op in round_.get("B", ()):
            await b.apply(op)
        await a.join(b)
        await b.join(a)


@dataclass(slots=True)
class LoadedLog:
    """A log rebuilt from a blocks file by joining its heads."""

    log: Log
    manifest: OpenedManifest
    blocks: dict[str, bytes] = field(repr=False)


async def load_log(address: str, heads: Sequence[str], blocks: Mapping[str, bytes]) -> LoadedLog:
    """Open an empty log at ``address`` over ``blocks`` and join each head (verifying everything).

    The write list comes from the manifest's access controller in ``blocks``; the
    reader is fixture user userC, who is not a writer.
    """
    opened = read_manifest(address, blocks)
    store = MemoryStorage()
    for cid, block in blocks.items():
        await store.put(cid, block)
    identities, reader = await fixture_identity("userC", storage=store)
    log = await Log.open(
        reader, identities=identities, log_id=address, entry_storage=store, access=WriteList(opened.write)
    )
    for head in heads:
        await log.join_entry(Entry.decode(blocks[head], expected_hash=head))
    return LoadedLog(log, opened, dict(blocks))


# -- views -----------------------------------------------------------------------------------------


def _js_property_key(key: Any) -> str:
    # OrbitDB tracks seen keys in a plain object, so keys compare as JS property names.
    if isinstance(key, str):
        return key
    return json.dumps(key)


def events_view(entries: Sequence[Entry]) -> list[dict[str, Any]]:
    """events ``all()``: ``{hash, value}`` for every entry, oldest first."""
    return [{"hash": e.hash, "value": e.payload["value"]} for e in entries]


def _latest_by_key(entries: Sequence[Entry]) -> list[Entry]:
    # Walk newest first; the first PUT or DEL seen for a key decides it.
    seen: set[str] = set()
    live: list[Entry] = []
    for e in reversed(entries):
        op, key = e.payload["op"], e.payload["key"]
        k = _js_property_key(key)
        if k in seen or op not in ("PUT", "DEL"):
            continue
        seen.add(k)
        if op == "PUT":
            live.append(e)
    live.reverse()
    return live


def keyvalue_view(entries: Sequence[Entry]) -> list[dict[str, Any]]:
    """keyvalue ``all()``: ``{key, value, hash}`` for live keys, oldest winning write first."""
    return [{"key": e.payload["key"], "value": e.payload["value"], "hash": e.hash} for e in _latest_by_key(entries)]


def documents_view(entries: Sequence[Entry]) -> list[dict[str, Any]]:
    """documents ``all()``: ``{hash, key, value}`` for live documents, in keyvalue's order."""
    return [{"hash": e.hash, "key": e.payload["key"], "value": e.payload["value"]} for e in _latest_by_key(entries)]


_VIEWS = {"events": events_view, "keyvalue": keyvalue_view, "documents": documents_view}


def view(type: str, entries: Sequence[Entry]) -> list[dict[str, Any]]:
    """``all()`` of a database of ``type`` whose log holds ``entries`` (oldest first)."""
    return _VIEWS[type](entries)


def describe_mismatch(ours: Any, theirs: Any) -> str:
    """A short, readable diff of two decoded values (for assertion messages)."""
    if isinstance(ours, list) and isinstance(theirs, list):
        for i, (x, y) in enumerate(zip(ours, theirs, strict=False)):
            if encode(x) != encode(y):
                return f"first difference at index {i}:\n  orbitstore: {x!r}\n  JS OrbitDB: {y!r}"
        return f"lengths differ: orbitstore {len(ours)}, JS OrbitDB {len(theirs)}"
    return f"orbitstore: {ours!r}\nJS OrbitDB: {theirs!r}"


class DatabaseNode:
    """One orbitstore node (a fixture user) writing one database through ``orbitstore.open()``.

    Both fixture writers open the same name with the same write list, so they share an address.
    The scenario verbs match :class:`LogWriter`'s, so :func:`run_rounds` drives either.
    """

    def __init__(self, store: Any, db: Any) -> None:
        self.store = store
        self.db = db

    @classmethod
    async def open(cls, user: str, name: str, type: str, *, encryption: Any = None) -> DatabaseNode:
        """Node of fixture ``user`` with database ``name``; ``encryption`` as ``store.open`` takes it."""
        import orbitstore

        identities, identity = await fixture_identity(user)
        store = await orbitstore.open(identities=identities, identity=identity)
        identities.storage = store.blocks  # the node's block store holds identity blocks too
        await store.blocks.put(identity.hash, identity.bytes)
        write = [FIXTURE_KEYS[u][1] for u in ("userA", "userB")]
        options: dict[str, Any] = {"access_controller": {"type": "ipfs", "write": write}}
        if encryption is not None:
            options["encryption"] = encryption
        db = await store.open(name, type=type, **options)
        return cls(store, db)

    async def apply(self, operation: Sequence[Any]) -> None:
        """Apply one scenario operation (``add``, ``put``, ``del``)."""
        op, *args = operation
        if op == "add":
            await self.db.add(*args)
        elif op == "put":
            await self.db.put(*args)
        else:
            await self.db.delete(*args)

    async def join(self, other: DatabaseNode) -> None:
        """Join the other node's heads, fetching blocks from its block store."""
        for head in await other.db.heads():
            await self.db.join_entry(head, fetch=other.store.blocks.get)

    async def aclose(self) -> None:
        """Close the node."""
        await self.store.aclose()
