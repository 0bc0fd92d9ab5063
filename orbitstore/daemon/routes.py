"""The HTTP API under ``/api/v0``: one :class:`Route` per call, each a thin layer over :class:`StoreAPI`.

Handlers parse the request (JSON body, query, path), call the API and write
JSON; errors are left to the error middleware. The same :class:`Route` list
registers the routes and generates the OpenAPI document, so the two cannot
drift apart.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from orbitstore.api.errors import InvalidRequest, PayloadTooLarge
from orbitstore.api.jsonvalues import from_json, to_json
from orbitstore.api.protocol import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, StoreAPI, Subscription
from orbitstore.daemon.errors import json_response
from orbitstore.daemon.metrics import Metrics
from orbitstore.errors import OrbitStoreError

__all__ = ["Param", "Route", "Routes"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Param:
    """A query parameter, for the OpenAPI document."""

    name: str
    schema: str
    description: str
    required: bool = False


@dataclass(frozen=True, slots=True)
class Route:
    """One HTTP call: method, path, handler and what the OpenAPI document says about it.

    ``body`` and ``response`` name a component schema, or ``"csv"`` / ``"sse"``
    / ``"text"`` for non-JSON bodies; ``None`` means no body.
    """

    method: str
    path: str
    handler: Handler
    operation: str
    summary: str
    tag: str
    body: str | None = None
    response: str | None = None
    query: tuple[Param, ...] = ()
    status: int = 200
    public: bool = False


class Routes:
    """The handlers, bound to one :class:`StoreAPI` and the daemon's limits."""

    def __init__(
        self,
        api: StoreAPI,
        *,
        metrics: Metrics,
        max_upload: int,
        keepalive: float,
        streams: set[Subscription],
    ) -> None:
        self.api = api
        self.metrics = metrics
        self.max_upload = max_upload
        self.keepalive = keepalive
        self.streams = streams

    # -- request parsing -------------------------------------------------------------------------

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        raw = await request.read()  # aiohttp raises 413 past client_max_size
        if not raw:
            raise InvalidRequest("this call needs a JSON object body")
        try:
            value = json.loads(raw, parse_constant=_not_json)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidRequest(f"malformed JSON: {exc}") from None
        if not isinstance(value, dict):
            raise InvalidRequest("the body must be a JSON object")
        decoded = from_json(value)
        assert isinstance(decoded, dict)
        return decoded

    @staticmethod
    def _field(body: dict[str, Any], name: str, kind: type | tuple[type, ...], *, required: bool = True) -> Any:
        if name not in body or body[name] is None:
            if required:
                raise InvalidRequest(f"the body needs the field {name!r}")
            return None
        value = body[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise InvalidRequest(f"field {name!r} must be {_json_type(names)}")
        return value

    @staticmethod
    def _query_int(request: web.Request, name: str, default: int) -> int:
        text = request.query.get(name)
        if text is None:
            return default
        try:
            return int(text)
        except ValueError:
            raise InvalidRequest(f"query parameter {name!r} must be an integer") from None

    @staticmethod
    def _db(request: web.Request) -> str:
        return request.match_info["db"]

    # -- node ------------------------------------------------------------------------------------

    async def health(self, request: web.Request) -> web.Response:
        return json_response({"status": "ok"})

    async def node(self, request: web.Request) -> web.Response:
        return json_response((await self.api.node()).to_wire())

    async def metrics_text(self, request: web.Request) -> web.Response:
        return self.metrics.render()

    # -- databases -------------------------------------------------------------------------------

    async def databases(self, request: web.Request) -> web.Response:
        return json_response({"databases": [d.to_wire() for d in await self.api.databases()]})

    async def create(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        info = await self.api.create(
            self._field(body, "name", str),
            type=self._field(body, "type", str),
            access_controller=self._field(body, "access_controller", dict, required=False),
            meta=body.get("meta"),
            index_by=self._field(body, "index_by", str, required=False),
        )
        return json_response(info.to_wire(), status=201)

    async def info(self, request: web.Request) -> web.Response:
        return json_response((await self.api.info(self._db(request))).to_wire())

    async def open(self, request: web.Request) -> web.Response:
        return json_response((await self.api.open(self._db(request))).to_wire())

    async def close(self, request: web.Request) -> web.Response:
        await self.api.close(self._db(request))
        return json_response({"closed": True})

    async def manifest(self, request: web.Request) -> web.Response:
        return json_response(to_json(await self.api.manifest(self._db(request))))

    async def heads(self, request: web.Request) -> web.Response:
        return json_response({"heads": await self.api.heads(self._db(request))})

    # -- entries ---------------------------------------------------------------------------------

    async def add(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if "value" not in body:
            raise InvalidRequest("the body needs the field 'value'")
        entry = await self.api.add(self._db(request), body["value"])
        self.metrics.writes.labels("add").inc()
        return json_response({"hash": entry}, status=201)

    async def put(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if "value" not in body:
            raise InvalidRequest("the body needs the field 'value'")
        key = self._field(body, "key", str, required=False)
        entry = await self.api.put(self._db(request), body["value"], key=key)
        self.metrics.writes.labels("put").inc()
        return json_response({"hash": entry}, status=201)

    async def get(self, request: web.Request) -> web.Response:
        key = request.query.get("key")
        if key is None:
            raise InvalidRequest("query parameter 'key' is required")
        return json_response((await self.api.get(self._db(request), key)).to_wire())

    async def delete(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        entry = await self.api.delete(self._db(request), self._field(body, "key", str))
        self.metrics.writes.labels("delete").inc()
        return json_response({"hash": entry}, status=201)

    async def query(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        items = await self.api.query(
            self._db(request),
            where=self._field(body, "where", dict),
            limit=self._field(body, "limit", int, required=False),
        )
        return json_response({"items": [i.to_wire() for i in items]})

    async def iterate(self, request: web.Request) -> web.Response:
        page = await self.api.iterate(
            self._db(request),
            limit=self._query_int(request, "limit", DEFAULT_PAGE_SIZE),
            cursor=request.query.get("cursor"),
        )
        return json_response(page.to_wire())

    async def events(self, request: web.Request) -> web.StreamResponse:
        subscription = await self.api.subscribe(self._db(request))  # errors here are ordinary JSON errors
        self.streams.add(subscription)
        self.metrics.subscribers.inc()
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )
        try:
            await response.prepare(request)
            await response.write(b": subscribed\n\n")  # the subscription is live: the client may write now
            iterator = aiter(subscription)
            while True:
                try:
                    async with asyncio.timeout(self.keepalive):
                        change = await anext(iterator)
                except TimeoutError:
                    await response.write(b": ping\n\n")
                    continue
                except StopAsyncIteration:
                    break
                except OrbitStoreError as exc:  # the stream is open: report in-band, then end it
                    data = json.dumps({"error": type(exc).__name__, "message": str(exc)})
                    await response.write(f"event: error\ndata: {data}\n\n".encode())
                    break
                data = json.dumps(change.to_wire(), ensure_ascii=False, separators=(",", ":"))
                await response.write(f"event: change\ndata: {data}\n\n".encode())
            await response.write_eof()
        except ConnectionError:
            pass  # the client went away; nothing more to send
        finally:
            self.streams.discard(subscription)
            self.metrics.subscribers.dec()
            await subscription.aclose()
        return response

    # -- access ----------------------------------------------------------------------------------

    async def access(self, request: web.Request) -> web.Response:
        return json_response((await self.api.access(self._db(request))).to_wire())

    async def grant(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        info = await self.api.grant(
            self._db(request), self._field(body, "capability", str), self._field(body, "id", str)
        )
        return json_response(info.to_wire())

    async def revoke(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        info = await self.api.revoke(
            self._db(request), self._field(body, "capability", str), self._field(body, "id", str)
        )
        return json_response(info.to_wire())

    # -- sync (pending: orbitstore.sync) ---------------------------------------------------------

    async def peers(self, request: web.Request) -> web.Response:
        peers = await self.api.peers()
        return json_response({"peers": [p.to_wire() for p in peers]})

    async def sync_status(self, request: web.Request) -> web.Response:
        return json_response((await self.api.sync_status(self._db(request))).to_wire())

    # -- dataset ---------------------------------------------------------------------------------

    async def _upload(self, request: web.Request) -> AsyncIterator[bytes]:
        received = 0
        async for chunk in request.content.iter_chunked(256 * 1024):
            received += len(chunk)
            if received > self.max_upload:
                raise PayloadTooLarge(f"upload larger than {self.max_upload} bytes")
            yield chunk

    async def import_csv(self, request: web.Request) -> web.Response:
        length = request.content_length
        if length is not None and length > self.max_upload:
            raise PayloadTooLarge(f"upload of {length} bytes is larger than {self.max_upload} bytes")
        result = await self.api.import_csv(
            self._db(request),
            self._upload(request),
            id_column=request.query.get("id_column"),
            target=request.query.get("target"),
        )
        return json_response(result.to_wire(), status=201)

    async def export_csv(self, request: web.Request) -> web.StreamResponse:
        chunks = aiter(self.api.export_csv(self._db(request)))
        first = await anext(chunks, b"")  # errors surface before the response starts
        response = web.StreamResponse(headers={"Content-Type": "text/csv; charset=utf-8"})
        await response.prepare(request)
        await response.write(first)
        async for chunk in chunks:
            await response.write(chunk)
        await response.write_eof()
        return response

    async def schema(self, request: web.Request) -> web.Response:
        return json_response(to_json(await self.api.schema(self._db(request))))

    async def set_schema(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        schema = await self.api.set_schema(self._db(request), self._field(body, "schema", dict))
        return json_response(to_json(schema), status=201)

    async def snapshot(self, request: web.Request) -> web.Response:
        return json_response((await self.api.snapshot(self._db(request))).to_wire(), status=201)

    async def anchor(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        wait = bool(self._field(body, "wait", bool, required=False))
        info = await self.api.anchor(self._field(body, "cid", str), wait=wait)
        return json_response(info.to_wire(), status=200 if info.status != "pending" else 202)

    async def anchor_status(self, request: web.Request) -> web.Response:
        return json_response((await self.api.anchor_status(request.match_info["cid"])).to_wire())

    async def verify(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        return json_response((await self.api.verify(self._field(body, "subject", str))).to_wire())

    # -- models ----------------------------------------------------------------------------------

    async def estimators(self, request: web.Request) -> web.Response:
        return json_response({"estimators": [e.to_wire() for e in await self.api.estimators()]})

    async def train(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        unknown = body.keys() - _TRAIN_FIELDS
        if unknown:
            raise InvalidRequest(f"unknown fields {sorted(unknown)} (known: {', '.join(sorted(_TRAIN_FIELDS))})")
        options: dict[str, Any] = {}
        for name, kind in (("seed", int), ("test_size", (int, float)), ("cv", int), ("anchor", bool)):
            value = self._field(body, name, kind, required=False)
            if value is not None:
                options[name] = value
        model = await self.api.train(
            self._field(body, "db", str, required=False),
            snapshot=self._field(body, "snapshot", str, required=False),
            target=self._field(body, "target", str, required=False),
            estimator=self._field(body, "estimator", str, required=False) or "random_forest",
            params=self._field(body, "params", dict, required=False),
            **options,
        )
        return json_response(model.to_wire(), status=201)

    async def models(self, request: web.Request) -> web.Response:
        return json_response({"models": [m.to_wire() for m in await self.api.models(request.query.get("db"))]})

    async def model_card(self, request: web.Request) -> web.Response:
        return json_response((await self.api.model_card(request.match_info["model"])).to_wire())

    async def predict(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        rows = self._field(body, "rows", list)
        if not all(isinstance(r, dict) for r in rows):
            raise InvalidRequest("field 'rows' must be a list of objects")
        answer = await self.api.predict(
            request.match_info["model"],
            rows,
            proba=bool(self._field(body, "proba", bool, required=False)),
            log=bool(self._field(body, "log", bool, required=False)),
        )
        return json_response(answer.to_wire())

    async def reproduce(self, request: web.Request) -> web.Response:
        return json_response((await self.api.reproduce(request.match_info["model"])).to_wire())

    async def verify_model(self, request: web.Request) -> web.Response:
        return json_response((await self.api.verify_model(request.match_info["model"])).to_wire())

    # -- the table -------------------------------------------------------------------------------

    def table(self) -> list[Route]:
        """Every route of the API (the web page's routes are added by the app)."""
        db = "/api/v0/db/{db}"
        page = (
            Param("limit", "integer", f"items per page, 1–{MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE})"),
            Param("cursor", "string", "the cursor of the previous page"),
        )
        key = (Param("key", "string", "the key (events: the entry hash; dataset: the record id)", required=True),)
        csv_options = (
            Param("id_column", "string", "the CSV column holding record ids (default: generated ids)"),
            Param("target", "string", "when the schema is inferred: its target column"),
        )
        return [
            Route("GET", "/health", self.health, "health", "Liveness check (no token needed)", "node",
                  response="Health", public=True),
            Route("GET", "/metrics", self.metrics_text, "metrics", "Prometheus metrics", "node", response="text"),
            Route("GET", "/api/v0/node", self.node, "node", "This node: identity, version, storage, features",
                  "node", response="NodeInfo"),
            Route("GET", "/api/v0/db", self.databases, "databases", "Databases this node knows", "databases",
                  response="DatabaseList"),
            Route("POST", "/api/v0/db", self.create, "create", "Create (or open) a database by name", "databases",
                  body="CreateRequest", response="DatabaseInfo", status=201),
            Route("GET", db, self.info, "info", "One database", "databases", response="DatabaseInfo"),
            Route("POST", f"{db}/open", self.open, "open", "Open a database by address or known name", "databases",
                  response="DatabaseInfo"),
            Route("POST", f"{db}/close", self.close, "close", "Close a database", "databases", response="Closed"),
            Route("GET", f"{db}/manifest", self.manifest, "manifest", "The manifest as stored", "databases",
                  response="Manifest"),
            Route("GET", f"{db}/heads", self.heads, "heads", "Head hashes, newest first", "entries",
                  response="Heads"),
            Route("POST", f"{db}/add", self.add, "add", "Append a value to an events database", "entries",
                  body="AddRequest", response="Written", status=201),
            Route("POST", f"{db}/put", self.put, "put", "Put a key (keyvalue) or a document (documents)",
                  "entries", body="PutRequest", response="Written", status=201),
            Route("GET", f"{db}/get", self.get, "get", "One live item by key", "entries", response="Item",
                  query=key),
            Route("POST", f"{db}/delete", self.delete, "delete", "Delete a key (keyvalue, documents)", "entries",
                  body="DeleteRequest", response="Written", status=201),
            Route("POST", f"{db}/query", self.query, "query", "Items whose value matches every field given",
                  "entries", body="QueryRequest", response="ItemList"),
            Route("GET", f"{db}/entries", self.iterate, "iterate", "A page of live items, newest first", "entries",
                  response="Page", query=page),
            Route("GET", f"{db}/events", self.events, "subscribe", "Live changes (Server-Sent Events)", "entries",
                  response="sse"),
            Route("GET", f"{db}/access", self.access, "access", "Access controller and capabilities", "access",
                  response="AccessInfo"),
            Route("POST", f"{db}/access/grant", self.grant, "grant", "Grant a capability", "access",
                  body="AccessRequest", response="AccessInfo"),
            Route("POST", f"{db}/access/revoke", self.revoke, "revoke", "Revoke a capability", "access",
                  body="AccessRequest", response="AccessInfo"),
            Route("GET", f"{db}/sync", self.sync_status, "sync_status", "Replication state",
                  "sync", response="SyncStatus"),
            Route("GET", "/api/v0/peers", self.peers, "peers", "Connected peers", "sync",
                  response="PeerList"),
            Route("POST", f"{db}/import", self.import_csv, "import_csv", "Streamed CSV upload into a dataset",
                  "dataset", body="csv", response="ImportResult", status=201, query=csv_options),
            Route("GET", f"{db}/export", self.export_csv, "export_csv", "The dataset as CSV (id column first)",
                  "dataset", response="csv"),
            Route("GET", f"{db}/schema", self.schema, "schema", "The dataset schema", "dataset", response="Schema"),
            Route("PUT", f"{db}/schema", self.set_schema, "set_schema", "Set or evolve the schema", "dataset",
                  body="SchemaRequest", response="Schema", status=201),
            Route("POST", f"{db}/snapshot", self.snapshot, "snapshot", "Freeze the dataset; its CID is the version",
                  "dataset", response="SnapshotInfo", status=201),
            Route("POST", "/api/v0/anchors", self.anchor, "anchor", "Submit a CID for anchoring (202 while pending)",
                  "anchoring", body="AnchorRequest", response="AnchorInfo", status=202),
            Route("GET", "/api/v0/anchors/{cid}", self.anchor_status, "anchor_status", "Where anchoring a CID stands",
                  "anchoring", response="AnchorInfo"),
            Route("POST", "/api/v0/verify", self.verify, "verify", "Verify a receipt, or the anchor of a CID",
                  "anchoring", body="VerifyRequest", response="VerifyResult"),
            Route("GET", "/api/v0/estimators", self.estimators, "estimators", "Estimator names train accepts",
                  "models", response="EstimatorList"),
            Route("POST", "/api/v0/models", self.train, "train",
                  "Train a model on a dataset or snapshot (answers when it is stored)", "models",
                  body="TrainRequest", response="ModelInfo", status=201),
            Route("GET", "/api/v0/models", self.models, "models", "Registered models, oldest first", "models",
                  response="ModelList", query=(Param("db", "string", "only models of this dataset"),)),
            Route("GET", "/api/v0/models/{model}/card", self.model_card, "model_card",
                  "A model card and its Markdown rendering", "models", response="ModelCardInfo"),
            Route("POST", "/api/v0/models/{model}/predict", self.predict, "predict", "Predict rows", "models",
                  body="PredictRequest", response="Predictions"),
            Route("POST", "/api/v0/models/{model}/reproduce", self.reproduce, "reproduce",
                  "Retrain from the card and compare fingerprints", "models", response="ReproduceResult"),
            Route("POST", "/api/v0/models/{model}/verify", self.verify_model, "verify_model",
                  "Check the provenance chain: model, card, snapshot, records, anchor", "models",
                  response="ProvenanceReport"),
        ]  # fmt: skip


_TRAIN_FIELDS = frozenset({"db", "snapshot", "target", "estimator", "params", "seed", "test_size", "cv", "anchor"})


def _not_json(name: str) -> Any:
    raise InvalidRequest(f"malformed JSON: {name} is not JSON")


def _json_type(python: str) -> str:
    names = {"str": "text", "int": "an integer", "dict": "an object", "list": "an array", "bool": "true or false"}
    return " or ".join(names.get(p.strip(), p) for p in python.split(" or "))
