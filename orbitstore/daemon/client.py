"""An async HTTP client of the daemon implementing :class:`~orbitstore.api.protocol.StoreAPI`.

::

    async with DaemonClient("http://127.0.0.1:5101", token=token) as api:
        info = await api.create("notes", type="events")
        await api.add(info.address, {"text": "hello"})

It raises the same errors the in-process API raises (rebuilt from the
daemon's ``{"error", "message"}`` bodies), and :class:`DaemonUnreachable`
when there is no daemon to talk to.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import aiohttp

from orbitstore.api.errors import InvalidRequest, error_from_wire
from orbitstore.api.jsonvalues import from_json, to_json
from orbitstore.api.models import (
    AccessInfo,
    AnchorInfo,
    DatabaseInfo,
    EstimatorInfo,
    ImportResult,
    Item,
    ModelCardInfo,
    ModelInfo,
    NodeInfo,
    Page,
    PeerInfo,
    Predictions,
    ProvenanceReport,
    ReproduceResult,
    SnapshotInfo,
    SyncStatus,
    VerifyResult,
)
from orbitstore.api.protocol import DEFAULT_PAGE_SIZE, ProgressCallback
from orbitstore.daemon.subscription import DaemonSubscription
from orbitstore.databases.manifest import Address
from orbitstore.errors import OrbitStoreError

__all__ = ["DaemonClient", "DaemonSubscription", "DaemonUnreachable"]


class DaemonUnreachable(OrbitStoreError, ConnectionError):
    """No daemon answered at the URL (not started, wrong port, stopped)."""


def _db_path(db: str) -> str:
    if not isinstance(db, str) or not db:
        raise InvalidRequest("database must be non-empty text")
    if Address.is_valid(db):
        return "/api/v0/db/" + Address.parse(db).manifest_hash
    return "/api/v0/db/" + quote(db, safe="")


async def _raise_for(response: aiohttp.ClientResponse) -> None:
    if response.status < 400:
        return
    body = await response.read()
    name, message, part = "HTTPError", body.decode(errors="replace")[:500] or response.reason or "", None
    try:
        wire = json.loads(body)
    except ValueError:
        wire = None
    if isinstance(wire, dict):
        name = str(wire.get("error", name))
        message = str(wire.get("message", message))
        part = wire.get("part") if isinstance(wire.get("part"), str) else None
    raise error_from_wire(name, message, status=response.status, part=part)


class DaemonClient:
    """:class:`~orbitstore.api.protocol.StoreAPI` over a daemon's HTTP API.

    ``url`` is the daemon's base URL; ``token`` its bearer token (see
    ``docs/daemon.md``). Calls time out after ``timeout`` seconds, except
    training, reproducing and verifying a model, which wait up to
    ``long_timeout`` (the daemon answers once the work is done). The client
    owns its HTTP session unless one is given.
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None,
        timeout: float = 60.0,
        long_timeout: float = 3600.0,
        session: aiohttp.ClientSession | None = None,
        max_connections: int = 100,
    ) -> None:
        self.url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._long = aiohttp.ClientTimeout(total=long_timeout, sock_connect=timeout)
        self._session = session
        self._owns_session = session is None
        self._max_connections = max_connections
        self._closed = False

    def _http(self) -> aiohttp.ClientSession:
        if self._closed:
            raise OrbitStoreError("the client is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                timeout=self._timeout,
            )
        return self._session

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        limits: aiohttp.ClientTimeout | None = None,
    ) -> Any:
        data = None if body is None else json.dumps(to_json(body), allow_nan=False).encode()
        headers = dict(self._headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        extra: dict[str, Any] = {"timeout": limits} if limits is not None else {}
        try:
            async with self._http().request(
                method, self.url + path, data=data, params=params, headers=headers, **extra
            ) as response:
                await _raise_for(response)
                if response.content_type == "application/json":
                    return await response.json()
                return await response.read()
        except aiohttp.ClientConnectionError as exc:
            raise DaemonUnreachable(f"no orbitstore daemon at {self.url}: {exc}") from None

    # -- node ------------------------------------------------------------------------------------

    async def node(self) -> NodeInfo:
        """This node's identity, version, storage kind and wired-in features."""
        return NodeInfo.from_wire(await self._call("GET", "/api/v0/node"))

    async def health(self) -> bool:
        """True when the daemon answers its health check (no token needed)."""
        return bool((await self._call("GET", "/health")).get("status") == "ok")

    async def openapi(self) -> dict[str, Any]:
        """The daemon's OpenAPI document."""
        document = await self._call("GET", "/api/v0/openapi.json")
        assert isinstance(document, dict)
        return document

    async def metrics(self) -> str:
        """The daemon's Prometheus metrics text."""
        raw = await self._call("GET", "/metrics")
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    # -- databases -------------------------------------------------------------------------------

    async def create(
        self,
        name: str,
        *,
        type: str,
        access_controller: Mapping[str, Any] | None = None,
        meta: Any = None,
        index_by: str | None = None,
    ) -> DatabaseInfo:
        """Create (or open, when it exists) the database ``name`` of ``type``."""
        body: dict[str, Any] = {"name": name, "type": type}
        if access_controller is not None:
            body["access_controller"] = dict(access_controller)
        if meta is not None:
            body["meta"] = meta
        if index_by is not None:
            body["index_by"] = index_by
        return DatabaseInfo.from_wire(await self._call("POST", "/api/v0/db", body=body))

    async def open(self, db: str) -> DatabaseInfo:
        """Open a database by address or known name."""
        return DatabaseInfo.from_wire(await self._call("POST", _db_path(db) + "/open"))

    async def databases(self) -> list[DatabaseInfo]:
        """Every database the daemon knows."""
        out = await self._call("GET", "/api/v0/db")
        return [DatabaseInfo.from_wire(d) for d in out["databases"]]

    async def info(self, db: str) -> DatabaseInfo:
        """One known database."""
        return DatabaseInfo.from_wire(await self._call("GET", _db_path(db)))

    async def close(self, db: str) -> None:
        """Close a database."""
        await self._call("POST", _db_path(db) + "/close")

    async def manifest(self, db: str) -> dict[str, Any]:
        """The manifest map as stored."""
        out = from_json(await self._call("GET", _db_path(db) + "/manifest"))
        assert isinstance(out, dict)
        return out

    async def heads(self, db: str) -> list[str]:
        """Head hashes, newest first."""
        return list((await self._call("GET", _db_path(db) + "/heads"))["heads"])

    # -- entries ---------------------------------------------------------------------------------

    async def add(self, db: str, value: Any) -> str:
        """Append ``value`` to an events database."""
        return str((await self._call("POST", _db_path(db) + "/add", body={"value": value}))["hash"])

    async def put(self, db: str, value: Any, *, key: str | None = None) -> str:
        """Set ``key`` (keyvalue) or store the document ``value`` (documents)."""
        body: dict[str, Any] = {"value": value}
        if key is not None:
            body["key"] = key
        return str((await self._call("POST", _db_path(db) + "/put", body=body))["hash"])

    async def get(self, db: str, key: str) -> Item:
        """The live item ``key``."""
        if not isinstance(key, str) or not key:
            raise InvalidRequest("key must be non-empty text")
        return Item.from_wire(await self._call("GET", _db_path(db) + "/get", params={"key": key}))

    async def delete(self, db: str, key: str) -> str:
        """Delete ``key``."""
        return str((await self._call("POST", _db_path(db) + "/delete", body={"key": key}))["hash"])

    async def query(self, db: str, *, where: Mapping[str, Any], limit: int | None = None) -> list[Item]:
        """Live items matching every ``where`` field, newest first."""
        body: dict[str, Any] = {"where": dict(where) if isinstance(where, Mapping) else where}
        if limit is not None:
            body["limit"] = limit
        out = await self._call("POST", _db_path(db) + "/query", body=body)
        return [Item.from_wire(i) for i in out["items"]]

    async def iterate(self, db: str, *, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None) -> Page:
        """A page of live items, newest first."""
        params = {"limit": str(limit)}
        if cursor is not None:
            params["cursor"] = cursor
        return Page.from_wire(await self._call("GET", _db_path(db) + "/entries", params=params))

    async def subscribe(self, db: str) -> DaemonSubscription:
        """Live changes of ``db``; active once the daemon has answered."""
        try:
            response = await self._http().get(
                self.url + _db_path(db) + "/events",
                headers={**self._headers, "Accept": "text/event-stream"},
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._timeout.total),
            )
        except aiohttp.ClientConnectionError as exc:
            raise DaemonUnreachable(f"no orbitstore daemon at {self.url}: {exc}") from None
        try:
            await _raise_for(response)
            # The daemon writes a comment block once the subscription is registered: wait for it.
            while (await response.content.readline()) not in (b"\n", b"\r\n", b""):
                pass
        except BaseException:
            response.close()
            raise
        return DaemonSubscription(response)

    # -- access ----------------------------------------------------------------------------------

    async def access(self, db: str) -> AccessInfo:
        """The access controller and its capabilities."""
        return AccessInfo.from_wire(await self._call("GET", _db_path(db) + "/access"))

    async def grant(self, db: str, capability: str, identity_id: str) -> AccessInfo:
        """Give ``identity_id`` the ``capability``."""
        body = {"capability": capability, "id": identity_id}
        return AccessInfo.from_wire(await self._call("POST", _db_path(db) + "/access/grant", body=body))

    async def revoke(self, db: str, capability: str, identity_id: str) -> AccessInfo:
        """Take ``capability`` from ``identity_id``."""
        body = {"capability": capability, "id": identity_id}
        return AccessInfo.from_wire(await self._call("POST", _db_path(db) + "/access/revoke", body=body))

    # -- sync ------------------------------------------------------------------------------------

    async def peers(self) -> list[PeerInfo]:
        """Connected peers."""
        return [PeerInfo.from_wire(p) for p in (await self._call("GET", "/api/v0/peers"))["peers"]]

    async def sync_status(self, db: str) -> SyncStatus:
        """Replication state of ``db``."""
        return SyncStatus.from_wire(await self._call("GET", _db_path(db) + "/sync"))

    # -- dataset ---------------------------------------------------------------------------------

    async def import_csv(
        self,
        db: str,
        source: bytes | AsyncIterable[bytes],
        *,
        id_column: str | None = None,
        target: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> ImportResult:
        """Upload CSV to a dataset, streamed; ``progress(bytes_sent, total)`` after each chunk."""
        params = {k: v for k, v in (("id_column", id_column), ("target", target)) if v is not None}
        total = len(source) if isinstance(source, bytes) else None

        async def chunks() -> AsyncIterator[bytes]:
            sent = 0
            if isinstance(source, bytes):
                for start in range(0, len(source), 256 * 1024):
                    chunk = source[start : start + 256 * 1024]
                    sent += len(chunk)
                    yield chunk
                    if progress is not None:
                        progress(sent, total)
            else:
                async for chunk in source:
                    sent += len(chunk)
                    yield chunk
                    if progress is not None:
                        progress(sent, total)

        headers = {**self._headers, "Content-Type": "text/csv"}
        try:
            async with self._http().post(
                self.url + _db_path(db) + "/import",
                data=source if isinstance(source, bytes) and progress is None else chunks(),
                params=params,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._timeout.total),
            ) as response:
                await _raise_for(response)
                return ImportResult.from_wire(await response.json())
        except aiohttp.ClientConnectionError as exc:
            raise DaemonUnreachable(f"no orbitstore daemon at {self.url}: {exc}") from None

    async def export_csv(self, db: str) -> AsyncIterator[bytes]:
        """The dataset's records as CSV, in chunks."""
        try:
            async with self._http().get(
                self.url + _db_path(db) + "/export",
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._timeout.total),
            ) as response:
                await _raise_for(response)
                async for chunk in response.content.iter_chunked(256 * 1024):
                    yield chunk
        except aiohttp.ClientConnectionError as exc:
            raise DaemonUnreachable(f"no orbitstore daemon at {self.url}: {exc}") from None

    async def schema(self, db: str) -> dict[str, Any]:
        """The dataset schema."""
        out = from_json(await self._call("GET", _db_path(db) + "/schema"))
        assert isinstance(out, dict)
        return out

    async def set_schema(self, db: str, schema: Mapping[str, Any]) -> dict[str, Any]:
        """Set or evolve the dataset schema; returns the schema now in force."""
        out = from_json(await self._call("PUT", _db_path(db) + "/schema", body={"schema": dict(schema)}))
        assert isinstance(out, dict)
        return out

    async def snapshot(self, db: str) -> SnapshotInfo:
        """Freeze the dataset at its current heads."""
        return SnapshotInfo.from_wire(await self._call("POST", _db_path(db) + "/snapshot"))

    # -- anchoring -------------------------------------------------------------------------------

    async def anchor(self, cid: str, *, wait: bool = False) -> AnchorInfo:
        """Submit ``cid`` for anchoring; with ``wait``, return once its batch is anchored or failed."""
        return AnchorInfo.from_wire(await self._call("POST", "/api/v0/anchors", body={"cid": cid, "wait": wait}))

    async def anchor_status(self, cid: str) -> AnchorInfo:
        """Where anchoring ``cid`` stands."""
        return AnchorInfo.from_wire(await self._call("GET", "/api/v0/anchors/" + quote(cid, safe="")))

    async def verify(self, subject: str) -> VerifyResult:
        """Verify a receipt or the anchor of a CID."""
        return VerifyResult.from_wire(await self._call("POST", "/api/v0/verify", body={"subject": subject}))

    # -- models ----------------------------------------------------------------------------------

    def _model_path(self, model: str, action: str) -> str:
        if not isinstance(model, str) or not model:
            raise InvalidRequest("model must be non-empty text (a card CID)")
        return f"/api/v0/models/{quote(model, safe='')}/{action}"

    async def estimators(self) -> list[EstimatorInfo]:
        """The estimator names :meth:`train` accepts."""
        return [EstimatorInfo.from_wire(e) for e in (await self._call("GET", "/api/v0/estimators"))["estimators"]]

    async def train(
        self,
        db: str | None = None,
        *,
        snapshot: str | None = None,
        target: str | None = None,
        estimator: str = "random_forest",
        params: Mapping[str, Any] | None = None,
        seed: int = 0,
        test_size: float = 0.25,
        cv: int = 5,
        anchor: bool = False,
    ) -> ModelInfo:
        """Train a model on ``db`` or ``snapshot``; waits up to ``long_timeout`` for the daemon to answer."""
        body: dict[str, Any] = {
            "estimator": estimator,
            "seed": seed,
            "test_size": test_size,
            "cv": cv,
            "anchor": anchor,
        }
        for name, value in (("db", db), ("snapshot", snapshot), ("target", target)):
            if value is not None:
                body[name] = value
        if params is not None:
            body["params"] = dict(params) if isinstance(params, Mapping) else params
        return ModelInfo.from_wire(await self._call("POST", "/api/v0/models", body=body, limits=self._long))

    async def models(self, db: str | None = None) -> list[ModelInfo]:
        """Registered models, oldest first."""
        out = await self._call("GET", "/api/v0/models", params={"db": db} if db is not None else None)
        return [ModelInfo.from_wire(m) for m in out["models"]]

    async def model_card(self, model: str) -> ModelCardInfo:
        """A model card and its Markdown rendering."""
        return ModelCardInfo.from_wire(await self._call("GET", self._model_path(model, "card")))

    async def predict(
        self, model: str, rows: list[Mapping[str, Any]], *, proba: bool = False, log: bool = False
    ) -> Predictions:
        """Predictions of ``model`` for ``rows``."""
        batch = [dict(r) if isinstance(r, Mapping) else r for r in rows] if isinstance(rows, list) else rows
        body = {"rows": batch, "proba": proba, "log": log}
        return Predictions.from_wire(await self._call("POST", self._model_path(model, "predict"), body=body))

    async def reproduce(self, model: str) -> ReproduceResult:
        """Retrain from the card and compare; waits up to ``long_timeout``."""
        out = await self._call("POST", self._model_path(model, "reproduce"), limits=self._long)
        return ReproduceResult.from_wire(out)

    async def verify_model(self, model: str) -> ProvenanceReport:
        """Check the model's provenance chain; waits up to ``long_timeout``."""
        out = await self._call("POST", self._model_path(model, "verify"), limits=self._long)
        return ProvenanceReport.from_wire(out)

    # -- lifetime --------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the HTTP session (when owned). Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
