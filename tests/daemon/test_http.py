"""The daemon over HTTP: token, OpenAPI, metrics, logs, the event stream, the web page's files."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import stat
from pathlib import Path

import aiohttp
from aiohttp import web

from orbitstore.api import open_local
from orbitstore.daemon import TOKEN_FILE, Daemon, DaemonClient, DaemonConfig, create_app
from orbitstore.daemon.app import METRICS_KEY, ROUTES_KEY
from orbitstore.daemon.logs import JsonAccessLogger, JsonFormatter
from orbitstore.daemon.openapi import SCHEMAS
from tests.daemon.conftest import auth, call


async def test_token_file_is_private_and_kept(tmp_path: Path) -> None:
    directory = tmp_path / "node"
    async with Daemon(DaemonConfig(directory=directory, port=0)) as first:
        token = first.token
    path = directory / TOKEN_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == token and len(token) >= 32
    path.chmod(0o644)  # loosened by someone: tightened again on start
    async with Daemon(DaemonConfig(directory=directory, port=0)) as second:
        assert second.token == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_token_required_except_health_and_page(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    async with http.get(daemon.url + "/health") as response:
        assert response.status == 200 and await response.json() == {"status": "ok"}
    async with http.get(daemon.url + "/") as response:
        assert response.status == 200 and response.content_type == "text/html"
    for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"}, {"Authorization": daemon.token}):
        for method, path in (("GET", "/api/v0/node"), ("GET", "/metrics"), ("GET", "/api/v0/openapi.json")):
            async with http.request(method, daemon.url + path, headers=headers) as response:
                assert response.status == 401
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
                body = await response.json()
                assert body["error"] == "Unauthorized" and "token" in body["message"]
    async with http.post(daemon.url + "/health") as response:  # only GET is public
        assert response.status == 401
    status, body = await call(http, daemon, "GET", "/api/v0/node")
    assert status == 200 and body["identity_id"]


async def test_openapi_describes_every_route(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    status, document = await call(http, daemon, "GET", "/api/v0/openapi.json")
    assert status == 200 and document["openapi"].startswith("3.")
    app = create_app(daemon.api, token="x" * 32, close_api=False)  # type: ignore[arg-type]
    registered = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        if route.method == "HEAD":
            continue  # aiohttp adds HEAD next to GET
        registered.add((route.method.lower(), path))
    documented = {(method, path) for path, ops in document["paths"].items() for method in ops}
    assert registered == documented
    assert len(documented) == len(app[ROUTES_KEY])
    # every $ref resolves, every operation has an id, a summary and a success response
    text = json.dumps(document)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}:
        assert ref in SCHEMAS, ref
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    for ops in document["paths"].values():
        for op in ops.values():
            assert op["summary"] and any(code.startswith("2") for code in op["responses"])


async def test_metrics_per_app_registry(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    await call(http, daemon, "POST", "/api/v0/db", json={"name": "m", "type": "events"})
    assert daemon.app is not None
    daemon_metrics = daemon.app[METRICS_KEY]
    for _ in range(3):
        await call(http, daemon, "POST", "/api/v0/db/m/add", json={"value": 1})
    await call(http, daemon, "GET", "/api/v0/db/nope")
    status, text = await call(http, daemon, "GET", "/metrics")
    assert status == 200
    assert 'orbitstore_http_requests_total{method="POST",route="/api/v0/db/{db}/add",status="201"} 3.0' in text
    assert 'orbitstore_http_requests_total{method="GET",route="/api/v0/db/{db}",status="404"} 1.0' in text
    assert 'orbitstore_entries_written_total{op="add"} 3.0' in text
    assert "orbitstore_open_databases 1.0" in text
    assert "orbitstore_http_request_duration_seconds_bucket" in text
    async with open_local(None, identity="other") as api:
        other = create_app(api, token="y" * 32, close_api=False)
        other_metrics = other[METRICS_KEY]
        assert other_metrics is not daemon_metrics and other_metrics.registry is not daemon_metrics.registry
        assert 'orbitstore_entries_written_total{op="add"}' not in other_metrics.render().text


async def test_structured_access_log_without_token(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("aiohttp.access")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        await call(http, daemon, "GET", "/api/v0/node")
        await call(http, daemon, "GET", "/api/v0/db/x/entries?cursor=secret-cursor")
        async with http.get(daemon.url + "/api/v0/node", headers={"Authorization": "Bearer leaked-guess-123456"}):
            pass
        await asyncio.sleep(0.05)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(r["method"], r["route"], r["status"]) for r in lines] == [
        ("GET", "/api/v0/node", 200),
        ("GET", "/api/v0/db/{db}/entries", 404),
        ("GET", "/api/v0/node", 401),
    ]
    assert all(r["level"] == "info" and r["duration_ms"] >= 0 and r["remote"] == "127.0.0.1" for r in lines)
    text = stream.getvalue()
    assert daemon.token not in text and "leaked-guess" not in text and "secret-cursor" not in text
    assert isinstance(JsonAccessLogger.__mro__[1], type)


async def test_event_stream_is_sse(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    await call(http, daemon, "POST", "/api/v0/db", json={"name": "live", "type": "events"})
    async with http.get(daemon.url + "/api/v0/db/live/events", headers=auth(daemon)) as response:
        assert response.status == 200 and response.content_type == "text/event-stream"
        assert await response.content.readline() == b": subscribed\n"
        assert await response.content.readline() == b"\n"
        status, body = await call(http, daemon, "POST", "/api/v0/db/live/add", json={"value": {"n": 1}})
        assert status == 201
        assert await response.content.readline() == b"event: change\n"
        data = json.loads((await response.content.readline()).removeprefix(b"data: "))
        assert data["kind"] == "update" and data["entries"][0]["hash"] == body["hash"]
        assert data["entries"][0]["value"] == {"n": 1}
    async with http.get(daemon.url + "/api/v0/db/nope/events", headers=auth(daemon)) as response:
        assert response.status == 404 and (await response.json())["error"] == "NotFound"


async def test_stop_ends_streams_without_waiting_for_the_drain(tmp_path: Path) -> None:
    config = DaemonConfig(directory=tmp_path / "node", port=0, drain_timeout=30)
    daemon = Daemon(config)
    await daemon.start()
    client = DaemonClient(daemon.url, token=daemon.token)
    try:
        info = await client.create("s", type="events")
        subscription = await client.subscribe(info.address)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await daemon.stop()
        assert loop.time() - started < 5
        assert [c async for c in subscription] == []
        await subscription.aclose()
    finally:
        await client.aclose()
        await daemon.stop()


async def test_keepalive_pings(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    config = DaemonConfig(directory=tmp_path / "node", port=0, keepalive=0.05)
    async with Daemon(config) as daemon:
        await call(http, daemon, "POST", "/api/v0/db", json={"name": "quiet", "type": "events"})
        async with http.get(daemon.url + "/api/v0/db/quiet/events", headers=auth(daemon)) as response:
            lines = [await response.content.readline() for _ in range(4)]
        assert lines == [b": subscribed\n", b"\n", b": ping\n", b"\n"]


async def test_web_page_files(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    async with http.get(daemon.url + "/") as response:
        html = await response.text()
        assert "Content-Security-Policy" in response.headers
    assert "<script" in html and "/static/app.js" in html
    for name, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):
        async with http.get(daemon.url + "/static/" + name) as response:
            assert response.status == 200 and response.content_type == kind
    for bad in ("/static/nope.js", "/static/..%2Fapp.py", "/static/index.html/"):
        async with http.get(daemon.url + bad) as response:
            assert response.status == 404
            assert (await response.json())["error"] == "NotFound"
    async with http.get(daemon.url + "/static/%2e%2e/server.py") as response:  # normalised to /server.py
        assert response.status == 401  # outside the public files: no token, no answer about what exists


async def test_internal_errors_are_500_without_details(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    class Broken:
        async def node(self) -> None:
            raise RuntimeError("secret internals")

        async def aclose(self) -> None:
            return None

    app = create_app(Broken(), token="t" * 32)  # type: ignore[arg-type]
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        async with http.get(f"http://{host}:{port}/api/v0/node", headers={"Authorization": "Bearer " + "t" * 32}) as r:
            assert r.status == 500
            body = await r.json()
        assert body["error"] == "InternalError" and "secret" not in body["message"]
    finally:
        await runner.cleanup()


def test_every_route_is_in_the_api_docs() -> None:
    from orbitstore.daemon.routes import Routes

    page = (Path(__file__).resolve().parents[2] / "docs" / "http-api.md").read_text()
    routes = Routes(None, metrics=None, max_upload=1, keepalive=1, streams=set()).table()  # type: ignore[arg-type]
    for route in routes:
        row = f"| {route.method} | `{route.path}"
        assert row in page, f"{route.method} {route.path} is not in docs/http-api.md"
    assert "| GET | `/api/v0/openapi.json` |" in page and "`/static/{name}`" in page


async def test_a_client_leaving_a_stream_frees_it(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    config = DaemonConfig(directory=tmp_path / "node", port=0, keepalive=0.05)
    async with Daemon(config) as daemon:
        assert daemon.app is not None
        gauge = daemon.app[METRICS_KEY].subscribers
        await call(http, daemon, "POST", "/api/v0/db", json={"name": "left", "type": "events"})
        for _ in range(3):
            async with http.get(daemon.url + "/api/v0/db/left/events", headers=auth(daemon)) as response:
                await response.content.readline()
        async with asyncio.timeout(5):
            while gauge._value.get() != 0:  # noqa: ASYNC110 - polling a metric, no event to wait on
                await asyncio.sleep(0.02)
        assert daemon.api is not None and not daemon.api._subscriptions
