"""The OpenAPI 3.1 document of the daemon, generated from the route table it serves.

Paths, methods, parameters, request bodies and responses come from the same
:class:`~orbitstore.daemon.routes.Route` objects that register the handlers;
the component schemas below describe the JSON bodies.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orbitstore
from orbitstore.daemon.routes import Route

__all__ = ["SCHEMAS", "openapi_document"]

_ANY: dict[str, Any] = {"description": "any DAG-CBOR value, as JSON with DAG-JSON forms for bytes and links"}
_STR: dict[str, Any] = {"type": "string"}
_STRS: dict[str, Any] = {"type": "array", "items": _STR}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(required: Iterable[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": properties}


SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": _object(
        ("error", "message"),
        error={"type": "string", "description": "the error type (orbitstore.errors / orbitstore.api.errors)"},
        message=_STR,
        part={"type": "string", "description": "NotAvailable only: the part that has not landed"},
    ),
    "Health": _object(("status",), status={"const": "ok"}),
    "NodeInfo": _object(
        ("identity_id", "public_key", "identity_hash", "version", "storage", "features"),
        identity_id=_STR,
        public_key=_STR,
        identity_hash=_STR,
        version=_STR,
        storage={"type": "string", "description": "embedded, memory or kubo"},
        features={"type": "object", "additionalProperties": {"type": "boolean"}},
    ),
    "DatabaseInfo": _object(
        ("address", "name", "type", "access_controller", "meta", "open"),
        address=_STR,
        name=_STR,
        type=_STR,
        access_controller=_STR,
        meta=_ANY,
        open={"type": "boolean"},
    ),
    "DatabaseList": _object(("databases",), databases={"type": "array", "items": _ref("DatabaseInfo")}),
    "CreateRequest": _object(
        ("name", "type"),
        name=_STR,
        type={"type": "string", "description": "events, keyvalue, documents (dataset when it lands)"},
        access_controller=_object((), type={"type": "string", "enum": ["ipfs", "orbitdb"]}, write=_STRS),
        meta=_ANY,
        index_by={"type": "string", "description": "documents only (default _id)"},
    ),
    "Closed": _object(("closed",), closed={"type": "boolean"}),
    "Manifest": _object(("name", "type", "accessController"), name=_STR, type=_STR, accessController=_STR, meta=_ANY),
    "Heads": _object(("heads",), heads=_STRS),
    "AddRequest": _object(("value",), value=_ANY),
    "PutRequest": _object(("value",), key={"type": "string", "description": "keyvalue: required"}, value=_ANY),
    "DeleteRequest": _object(("key",), key=_STR),
    "QueryRequest": _object(
        ("where",), where={"type": "object", "description": "field → value to match"}, limit={"type": "integer"}
    ),
    "Written": _object(("hash",), hash={"type": "string", "description": "the new entry's CID"}),
    "Item": _object(("hash", "key", "value"), hash=_STR, key=_ANY, value=_ANY),
    "ItemList": _object(("items",), items={"type": "array", "items": _ref("Item")}),
    "Page": _object(
        ("items", "cursor"), items={"type": "array", "items": _ref("Item")}, cursor={"type": ["string", "null"]}
    ),
    "EntryInfo": _object(
        ("hash", "op", "key", "value", "writer", "clock_time"),
        hash=_STR,
        op={"type": ["string", "null"]},
        key=_ANY,
        value=_ANY,
        writer={"type": "string", "description": "the writer's identity hash"},
        clock_time={"type": "integer"},
    ),
    "Change": _object(
        ("kind", "address", "entries"),
        kind={"enum": ["update", "join"]},
        address=_STR,
        entries={"type": "array", "items": _ref("EntryInfo")},
    ),
    "AccessInfo": _object(
        ("type", "address", "mutable", "capabilities"),
        type=_STR,
        address=_STR,
        mutable={"type": "boolean"},
        capabilities={"type": "object", "additionalProperties": _STRS},
    ),
    "AccessRequest": _object(
        ("capability", "id"), capability={"type": "string", "examples": ["write", "admin"]}, id=_STR
    ),
    "SyncStatus": _object(
        ("address", "synced", "peers", "missing"),
        address=_STR,
        synced={"type": "boolean"},
        peers={"type": "integer"},
        missing={"type": "integer"},
    ),
    "PeerInfo": _object(("peer_id",), peer_id=_STR, addresses=_STRS, databases=_STRS),
    "PeerList": _object(("peers",), peers={"type": "array", "items": _ref("PeerInfo")}),
    "ImportResult": _object(("address", "rows", "heads"), address=_STR, rows={"type": "integer"}, heads=_STRS),
    "Schema": _object(
        ("v", "columns"),
        v={"const": 1},
        target={"type": "string"},
        columns={
            "type": "array",
            "items": _object(("name", "type", "nullable"), name=_STR, type=_STR, nullable={"type": "boolean"}),
        },
    ),
    "SchemaRequest": _object(
        ("schema",),
        schema={
            "type": "object",
            "description": '{"columns": {name: type} or [{name, type, nullable}], "target": name}, or a Schema',
        },
    ),
    "SnapshotInfo": _object(
        ("cid", "address", "heads", "entries", "records"),
        cid=_STR,
        address=_STR,
        heads=_STRS,
        entries={"type": "integer"},
        records={"type": "integer"},
    ),
    "AnchorRequest": _object(
        ("cid",), cid=_STR, wait={"type": "boolean", "description": "close the batch now and wait for it"}
    ),
    "AnchorInfo": _object(
        ("cid", "status"),
        cid=_STR,
        status={"enum": ["pending", "anchored", "failed"]},
        receipt={"type": ["string", "null"], "description": "the receipt block's CID once anchored"},
        reason={"type": ["string", "null"]},
        backend={"type": ["string", "null"], "description": "where roots go (the local ledger: not a public chain)"},
    ),
    "VerifyRequest": _object(("subject",), subject={"type": "string", "description": "a receipt or anchored CID"}),
    "VerifyResult": _object(
        ("ok", "subject", "checks", "failed"),
        ok={"type": "boolean"},
        subject=_STR,
        checks=_STRS,
        failed={"type": ["string", "null"], "description": "the check that failed"},
        receipt={"type": ["string", "null"]},
        cid={"type": ["string", "null"]},
        description={"type": ["string", "null"]},
        backend={"type": ["string", "null"]},
    ),
    "TrainRequest": _object(
        ("db",), db=_STR, target=_STR, estimator={"type": "string", "default": "random_forest"}, params={}
    ),
    "ModelInfo": _object(("cid", "card", "snapshot", "estimator"), cid=_STR, card=_STR, snapshot=_STR, estimator=_STR),
    "ModelList": _object(("models",), models={"type": "array", "items": _ref("ModelInfo")}),
    "ModelCard": {"type": "object", "description": "the model card (provenance)"},
    "PredictRequest": _object(("rows",), rows={"type": "array", "items": {"type": "object"}}),
    "Predictions": _object(("predictions",), predictions={"type": "array", "items": _ANY}),
}

_MEDIA = {"csv": "text/csv", "sse": "text/event-stream", "text": "text/plain"}

_ERRORS = {
    "400": "malformed request (bad JSON, wrong type, missing field)",
    "401": "missing or wrong bearer token",
    "403": "the identity lacks the capability",
    "404": "no such database, key or entry",
    "409": "the database cannot do this (immutable access controller, closed…)",
    "413": "body larger than the daemon accepts",
    "422": "value cannot be stored (not DAG-CBOR, schema violation)",
    "501": "the part behind this call has not landed yet",
}


def _content(kind: str) -> dict[str, Any]:
    media = _MEDIA.get(kind)
    if media is not None:
        return {media: {"schema": {"type": "string"}}}
    return {"application/json": {"schema": _ref(kind)}}


def _operation(route: Route) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": route.operation, "summary": route.summary, "tags": [route.tag]}
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"\{(\w+)\}", route.path)
    ]
    parameters += [
        {
            "name": p.name,
            "in": "query",
            "required": p.required,
            "description": p.description,
            "schema": {"type": p.schema},
        }
        for p in route.query
    ]
    if parameters:
        op["parameters"] = parameters
    if route.body is not None:
        op["requestBody"] = {"required": True, "content": _content(route.body)}
    ok: dict[str, Any] = {"description": "success"}
    if route.response is not None:
        ok["content"] = _content(route.response)
    error = {"description": "", "content": {"application/json": {"schema": _ref("Error")}}}
    responses: dict[str, Any] = {str(route.status): ok}
    for code, text in _ERRORS.items():
        if route.public and code == "401":
            continue
        responses[code] = {**error, "description": text}
    op["responses"] = responses
    if route.public:
        op["security"] = []
    return op


def openapi_document(routes: Iterable[Route]) -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``routes``."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "orbitstore daemon",
            "version": orbitstore.__version__,
            "description": "The HTTP API of an orbitstore peer. See docs/http-api.md.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
    }
