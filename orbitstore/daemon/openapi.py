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
        sync_endpoint={
            "type": ["string", "null"],
            "description": "host:port of the direct replication path (null: sync off)",
        },
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
        peers={"type": "integer", "description": "peers present now"},
        missing={"type": "integer", "description": "heads the peers told us that are not joined yet"},
        mode={"type": "string", "description": "pubsub (Kubo) or direct (static peers)"},
        peer_ids=_STRS,
        heads_known={"type": "integer"},
        heads_joined={"type": "integer"},
        pending={"type": "integer", "description": "joins queued or running"},
        joined_entries={"type": "integer", "description": "entries added from peers since the node started"},
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
    "EstimatorInfo": _object(
        ("name", "task", "needs_params", "deprecated"),
        name=_STR,
        task={"enum": ["classification", "regression", "either"], "description": "either: picks by the target"},
        needs_params={"type": "boolean", "description": "cannot be built with defaults: give params"},
        deprecated={"type": "boolean"},
    ),
    "EstimatorList": _object(("estimators",), estimators={"type": "array", "items": _ref("EstimatorInfo")}),
    "TrainRequest": _object(
        (),
        db={"type": "string", "description": "a dataset: a snapshot of it is taken now (or give snapshot)"},
        snapshot={"type": "string", "description": "a snapshot CID to train on (or give db)"},
        target={"type": "string", "description": "default: the schema's target"},
        estimator={"type": "string", "default": "random_forest", "description": "a name from /api/v0/estimators"},
        params={"type": "object", "description": "estimator parameters (nested: estimator__name)"},
        seed={"type": "integer", "default": 0},
        test_size={"type": "number", "default": 0.25},
        cv={"type": "integer", "default": 5, "description": "cross-validation folds; 0: none"},
        anchor={"type": "boolean", "default": False, "description": "anchor the snapshot first; the card links it"},
    ),
    "ModelInfo": _object(
        ("card", "model", "dataset", "snapshot", "estimator", "task", "target", "trained_at", "trainer", "version"),
        card={"type": "string", "description": "the model card's CID: names the model in every call"},
        model={"type": "string", "description": "the model file's CID (skops)"},
        dataset=_STR,
        snapshot=_STR,
        estimator={"type": "string", "description": "the estimator's class path"},
        task={"enum": ["classification", "regression"]},
        target=_STR,
        trained_at={"type": "integer", "description": "ms since the epoch"},
        trainer={"type": "string", "description": "the trainer's identity id"},
        version={"type": "integer", "description": "counts the dataset's models from 1"},
        parent={"type": ["string", "null"]},
        anchor={"type": ["string", "null"], "description": "train's answer only: the snapshot's receipt"},
        metrics={"type": "object", "additionalProperties": {"type": ["number", "null"]}},
    ),
    "ModelList": _object(("models",), models={"type": "array", "items": _ref("ModelInfo")}),
    "ModelCardInfo": _object(
        ("cid", "card", "markdown"),
        cid=_STR,
        card={"type": "object", "description": "the signed card block (see docs/mlbridge.md), links as DAG-JSON"},
        markdown=_STR,
    ),
    "PredictRequest": _object(
        ("rows",),
        rows={"type": "array", "items": {"type": "object"}, "description": "column → value"},
        proba={"type": "boolean", "description": "classifiers: class probabilities too"},
        log={"type": "boolean", "description": "record the request in the prediction log"},
    ),
    "Predictions": _object(
        ("model", "values"),
        model=_STR,
        values={"type": "array", "items": _ANY},
        classes={"type": ["array", "null"], "items": _ANY},
        probabilities={"type": ["array", "null"], "items": {"type": "array", "items": {"type": "number"}}},
        logged={"type": ["string", "null"], "description": "the prediction-log record id"},
    ),
    "ReproduceResult": _object(
        ("card", "status", "ok", "expected", "actual", "versions", "details"),
        card=_STR,
        status={"enum": ["match", "mismatch", "version-differs"]},
        ok={"type": "boolean"},
        expected={"type": "string", "description": "the card's fitted-state hash"},
        actual={"type": "string", "description": "the retrained model's"},
        versions={"type": "object", "additionalProperties": _STRS, "description": "library → [card, here]"},
        details=_STRS,
    ),
    "ProvenanceCheck": _object(
        ("name", "status", "detail"), name=_STR, status={"enum": ["pass", "fail", "skip"]}, detail=_STR
    ),
    "ProvenanceReport": _object(
        ("card", "ok", "failed", "checks"),
        card=_STR,
        ok={"type": "boolean"},
        failed={"type": ["string", "null"], "description": "the first failed check"},
        checks={"type": "array", "items": _ref("ProvenanceCheck")},
    ),
}

_MEDIA = {"csv": "text/csv", "sse": "text/event-stream", "text": "text/plain"}

_ERRORS = {
    "400": "malformed request (bad JSON, wrong type, missing field)",
    "401": "missing or wrong bearer token",
    "403": "the identity lacks the capability",
    "404": "no such database, key or entry",
    "409": "the database cannot do this (immutable access controller, closed…)",
    "413": "body larger than the daemon accepts",
    "422": "value cannot be stored (not DAG-CBOR, schema violation), or a model cannot be trained or used",
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
