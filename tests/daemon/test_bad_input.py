"""Bad input over HTTP: a clear 4xx with a JSON reason, and nothing stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from orbitstore.daemon import Daemon
from tests.daemon.conftest import auth, call

MISSING = "zdpuAn26ookFToGNmpVHgEM71YMULiyS8mAs9UQtV1g6eEyRP"


@pytest.fixture
async def dbs(daemon: Daemon, http: aiohttp.ClientSession) -> dict[str, str]:
    """An events, a keyvalue and a documents database, each with one entry."""
    out = {}
    for name, kind in (("ev", "events"), ("kv", "keyvalue"), ("docs", "documents"), ("ds", "dataset")):
        status, body = await call(http, daemon, "POST", "/api/v0/db", json={"name": name, "type": kind})
        assert status == 201
        out[name] = body["address"]
    await call(http, daemon, "POST", "/api/v0/db/ev/add", json={"value": 1})
    await call(http, daemon, "POST", "/api/v0/db/kv/put", json={"key": "k", "value": 1})
    await call(http, daemon, "POST", "/api/v0/db/docs/put", json={"value": {"_id": "a"}})
    await call(http, daemon, "PUT", "/api/v0/db/ds/schema", json={"schema": {"columns": {"age": "int"}}})
    await call(http, daemon, "POST", "/api/v0/db/ds/put", json={"key": "r1", "value": {"age": 1}})
    return out


async def snapshot(http: aiohttp.ClientSession, daemon: Daemon) -> Any:
    """What is stored: every known database and its heads."""
    _, listed = await call(http, daemon, "GET", "/api/v0/db")
    heads = {}
    for db in listed["databases"]:
        _, body = await call(http, daemon, "GET", f"/api/v0/db/{db['address'].removeprefix('/orbitdb/')}/heads")
        heads[db["address"]] = body["heads"]
    return listed, heads


def assert_error(status: int, body: Any, expected_status: int, error: str, *words: str) -> None:
    assert status == expected_status, body
    assert isinstance(body, dict) and body["error"] == error, body
    assert isinstance(body["message"], str) and body["message"]
    for word in words:
        assert word in body["message"], body["message"]


async def raw(
    http: aiohttp.ClientSession, daemon: Daemon, method: str, path: str, data: bytes, **headers: str
) -> tuple[int, Any]:
    async with http.request(method, daemon.url + path, data=data, headers={**auth(daemon), **headers}) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()


CASES: list[tuple[str, str, bytes, int, str, tuple[str, ...]]] = [
    # malformed JSON
    ("POST", "/api/v0/db/ev/add", b'{"value": ', 400, "InvalidRequest", ("malformed JSON",)),
    ("POST", "/api/v0/db/ev/add", b"\xff\xfe", 400, "InvalidRequest", ("malformed JSON",)),
    ("POST", "/api/v0/db/ev/add", b'{"value": NaN}', 400, "InvalidRequest", ()),
    ("POST", "/api/v0/db/ev/add", b"", 400, "InvalidRequest", ("JSON object body",)),
    ("POST", "/api/v0/db/ev/add", b"[1, 2]", 400, "InvalidRequest", ("JSON object",)),
    ("POST", "/api/v0/db/ev/add", b'"text"', 400, "InvalidRequest", ("JSON object",)),
    # missing fields and wrong types
    ("POST", "/api/v0/db/ev/add", b"{}", 400, "InvalidRequest", ("value",)),
    ("POST", "/api/v0/db", b'{"type": "events"}', 400, "InvalidRequest", ("name",)),
    ("POST", "/api/v0/db", b'{"name": 5, "type": "events"}', 400, "InvalidRequest", ("name", "text")),
    ("POST", "/api/v0/db", b'{"name": "x", "type": ["events"]}', 400, "InvalidRequest", ("type",)),
    ("POST", "/api/v0/db", b'{"name": "x", "type": "nosuch"}', 400, "InvalidRequest", ("unknown database type",)),
    ("POST", "/api/v0/db", b'{"name": "x", "type": "events", "access_controller": "ipfs"}', 400, "InvalidRequest",
     ("access_controller",)),
    ("POST", "/api/v0/db", b'{"name": "x", "type": "events", "access_controller": {"write": [1]}}', 400,
     "InvalidRequest", ("write",)),
    ("POST", "/api/v0/db/kv/put", b'{"key": 7, "value": 1}', 400, "InvalidRequest", ("key",)),
    ("POST", "/api/v0/db/kv/put", b'{"value": 1}', 400, "InvalidRequest", ("key",)),
    ("POST", "/api/v0/db/docs/put", b'{"value": [1]}', 400, "InvalidRequest", ("_id",)),
    ("POST", "/api/v0/db/docs/put", b'{"value": {"name": "no id"}}', 400, "InvalidRequest", ("_id",)),
    ("POST", "/api/v0/db/kv/delete", b'{"key": null}', 400, "InvalidRequest", ("key",)),
    ("POST", "/api/v0/db/kv/query", b'{"where": [1]}', 400, "InvalidRequest", ("where",)),
    ("POST", "/api/v0/db/kv/query", b'{"where": {}, "limit": "3"}', 400, "InvalidRequest", ("limit",)),
    ("POST", "/api/v0/db/kv/query", b'{"where": {}, "limit": true}', 400, "InvalidRequest", ("limit",)),
    ("POST", "/api/v0/db/ev/add", b'{"value": {"/": "not-a-cid"}}', 400, "InvalidRequest", ("CID",)),
    ("POST", "/api/v0/db/ev/add", b'{"value": {"/": {"bytes": "***"}}}', 400, "InvalidRequest", ("base64",)),
    ("POST", "/api/v0/db/ev/add", b'{"value": 18446744073709551616}', 422, "EncodeError", ("64 bits",)),
    ("POST", "/api/v0/db/ev/put", b'{"key": "k", "value": 1}', 400, "InvalidRequest", ("keyvalue or documents",)),
    ("POST", "/api/v0/db/kv/add", b'{"value": 1}', 400, "InvalidRequest", ("events",)),
    ("POST", "/api/v0/db/ev/access/grant", b'{"capability": "write", "id": "x"}', 409, "DatabaseError",
     ("immutable",)),
    ("POST", "/api/v0/db/ev/access/grant", b'{"capability": "write"}', 400, "InvalidRequest", ("id",)),
    # unknown databases, entries and routes
    ("POST", "/api/v0/db/nosuch/add", b'{"value": 1}', 404, "NotFound", ("nosuch",)),
    ("POST", f"/api/v0/db/{MISSING}/add", b'{"value": 1}', 404, "NotFound", (MISSING,)),
    ("POST", f"/api/v0/db/{MISSING}/open", b"", 404, "NotFound", ("manifest",)),
    ("GET", "/api/v0/db/not%2Fa%2Fname", b"", 404, "NotFound", ("not/a/name",)),
    ("GET", f"/api/v0/db/ev/get?key={MISSING}", b"", 404, "NotFound", (MISSING,)),
    ("GET", "/api/v0/db/kv/get?key=absent", b"", 404, "NotFound", ("absent",)),
    ("GET", "/api/v0/db/kv/get", b"", 400, "InvalidRequest", ("key",)),
    ("GET", "/api/v0/db/ev/entries?limit=abc", b"", 400, "InvalidRequest", ("limit",)),
    ("GET", "/api/v0/db/ev/entries?limit=0", b"", 400, "InvalidRequest", ("limit",)),
    ("GET", "/api/v0/db/ev/entries?cursor=zzz", b"", 400, "InvalidRequest", ("cursor",)),
    ("GET", "/api/v0/nothing/here", b"", 404, "NotFound", ("no route",)),
    ("DELETE", "/api/v0/db/ev", b"", 405, "MethodNotAllowed", ()),
    # datasets
    ("POST", "/api/v0/db/ds/put", b'{"key": "r2", "value": {"age": "old"}}', 422, "SchemaError", ("age",)),
    ("POST", "/api/v0/db/ds/put", b'{"key": "r2", "value": {"height": 3}}', 422, "SchemaError", ("height",)),
    ("POST", "/api/v0/db/ds/put", b'{"value": {"age": 3}}', 400, "InvalidRequest", ("record id",)),
    ("POST", "/api/v0/db/ds/put", b'{"key": "r2", "value": 3}', 400, "InvalidRequest", ("row",)),
    ("PUT", "/api/v0/db/ds/schema", b'{"schema": {"columns": {"age": "str"}}}', 422, "SchemaError", ()),
    ("PUT", "/api/v0/db/ds/schema", b'{"schema": {"cols": 1}}', 400, "InvalidRequest", ("columns",)),
    ("PUT", "/api/v0/db/ds/schema", b'{"schema": {"columns": {"a": "complex"}}}', 422, "SchemaError", ("type",)),
    ("POST", "/api/v0/db/ds/import", b"age\nold\n", 422, "SchemaError", ("line 2",)),
    ("POST", "/api/v0/db/ds/import", b"", 422, "SchemaError", ("empty",)),
    ("POST", "/api/v0/db/ds/import?id_column=nope", b"age\n1\n", 422, "SchemaError", ("nope",)),
    ("POST", "/api/v0/db/ds/access/grant", b'{"capability": "fly", "id": "x"}', 400, "InvalidRequest", ("fly",)),
    ("POST", "/api/v0/db/ev/snapshot", b"", 400, "InvalidRequest", ("not a dataset",)),
    ("POST", "/api/v0/db/ev/import", b"a\n1\n", 400, "InvalidRequest", ("not a dataset",)),
    # models
    ("POST", "/api/v0/models", b'{"db": "ev"}', 400, "InvalidRequest", ("not a dataset",)),
    ("POST", "/api/v0/models", b"{}", 400, "InvalidRequest", ("exactly one",)),
    ("POST", "/api/v0/models", b'{"db": "ds", "snapshot": "x"}', 400, "InvalidRequest", ("exactly one",)),
    ("POST", "/api/v0/models", b'{"db": "ds", "estimatr": "x"}', 400, "InvalidRequest", ("unknown fields",)),
    ("POST", "/api/v0/models", b'{"db": "ds", "seed": "1"}', 400, "InvalidRequest", ("seed",)),
    ("POST", "/api/v0/models", b'{"db": "ds", "cv": true}', 400, "InvalidRequest", ("cv",)),
    ("POST", "/api/v0/models", b'{"db": "ds", "params": [1]}', 400, "InvalidRequest", ("params",)),
    ("POST", "/api/v0/models", b'{"snapshot": "not-a-cid"}', 400, "InvalidRequest", ("CID",)),
    ("POST", "/api/v0/models", f'{{"snapshot": "{MISSING}"}}'.encode(), 404, "NotFound", ()),
    ("POST", "/api/v0/models", b'{"db": "ds"}', 422, "ModelError", ("target",)),
    ("POST", "/api/v0/models", b'{"db": "ds", "target": "age", "estimator": "nope"}', 422, "ModelError",
     ("nope",)),
    ("POST", "/api/v0/models", b'{"db": "ds", "target": "age", "params": {"n_trees": 3}}', 422, "ModelError",
     ("n_trees",)),
    ("GET", "/api/v0/models?db=nosuch", b"", 404, "NotFound", ("nosuch",)),
    ("GET", "/api/v0/models/not-a-cid/card", b"", 400, "InvalidRequest", ("CID",)),
    ("GET", f"/api/v0/models/{MISSING}/card", b"", 404, "NotFound", (MISSING,)),
    ("POST", f"/api/v0/models/{MISSING}/predict", b'{"rows": [{"age": 1}]}', 404, "NotFound", (MISSING,)),
    ("POST", f"/api/v0/models/{MISSING}/predict", b'{"rows": []}', 400, "InvalidRequest", ("rows",)),
    ("POST", f"/api/v0/models/{MISSING}/predict", b'{"rows": [1]}', 400, "InvalidRequest", ("rows",)),
    ("POST", f"/api/v0/models/{MISSING}/predict", b'{"rows": [{}], "proba": 1}', 400, "InvalidRequest",
     ("proba",)),
    ("POST", f"/api/v0/models/{MISSING}/reproduce", b"", 404, "NotFound", (MISSING,)),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "data", "status", "error", "words"), CASES)
async def test_bad_request(
    daemon: Daemon,
    http: aiohttp.ClientSession,
    dbs: dict[str, str],
    method: str,
    path: str,
    data: bytes,
    status: int,
    error: str,
    words: tuple[str, ...],
) -> None:
    before = await snapshot(http, daemon)
    got_status, body = await raw(http, daemon, method, path, data, **{"Content-Type": "application/json"})
    assert_error(got_status, body, status, error, *words)
    assert await snapshot(http, daemon) == before


async def test_body_over_the_limit(daemon: Daemon, http: aiohttp.ClientSession, dbs: dict[str, str]) -> None:
    before = await snapshot(http, daemon)
    big = b'{"value": "' + b"x" * (daemon.config.max_body + 1) + b'"}'
    status, body = await raw(http, daemon, "POST", "/api/v0/db/ev/add", big)
    assert_error(status, body, 413, "PayloadTooLarge", "too large")
    status, body = await raw(
        http, daemon, "POST", "/api/v0/db", b'{"name": "' + b"n" * 70_000 + b'", "type": "events"}'
    )
    assert_error(status, body, 413, "PayloadTooLarge")
    assert await snapshot(http, daemon) == before
    # just under the limit is fine
    fits = b'{"value": "' + b"x" * (daemon.config.max_body - 100) + b'"}'
    status, _ = await raw(http, daemon, "POST", "/api/v0/db/ev/add", fits)
    assert status == 201


async def test_upload_over_the_limit(daemon: Daemon, http: aiohttp.ClientSession, dbs: dict[str, str]) -> None:
    before = await snapshot(http, daemon)
    upload = b"a,b\n" + b"1,2\n" * (daemon.config.max_upload // 4 + 1)
    status, body = await raw(http, daemon, "POST", "/api/v0/db/ds/import", upload, **{"Content-Type": "text/csv"})
    assert_error(status, body, 413, "PayloadTooLarge", "larger than")

    async def chunked() -> Any:  # no Content-Length: the limit is enforced while reading
        for start in range(0, len(upload), 65536):
            yield upload[start : start + 65536]

    async with http.post(daemon.url + "/api/v0/db/ds/import", data=chunked(), headers=auth(daemon)) as response:
        assert response.status == 413
        assert (await response.json())["error"] == "PayloadTooLarge"
    assert await snapshot(http, daemon) == before
    assert not list((daemon.config.directory or Path()).glob("import-*"))  # the spool file is gone


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-the-token-at-all"}, {"Authorization": "Basic abc"}, {"Authorization": ""}],
)
async def test_missing_or_wrong_token_stores_nothing(
    daemon: Daemon, http: aiohttp.ClientSession, dbs: dict[str, str], headers: dict[str, str]
) -> None:
    before = await snapshot(http, daemon)
    for method, path, payload in (
        ("POST", "/api/v0/db/ev/add", {"value": "intruder"}),
        ("POST", "/api/v0/db", {"name": "intruder", "type": "events"}),
        ("POST", "/api/v0/db/kv/delete", {"key": "k"}),
    ):
        async with http.request(method, daemon.url + path, json=payload, headers=headers) as response:
            body = await response.json()
            assert_error(response.status, body, 401, "Unauthorized", "token")
    assert await snapshot(http, daemon) == before
