"""The daemon's aiohttp application: routes, middlewares, OpenAPI, metrics, the web page.

::

    app = create_app(api, token=token)
    runner = web.AppRunner(app)        # see orbitstore.daemon.server for the whole lifetime

Middlewares, outermost first: metrics (counts every request, errors too),
errors (one place maps errors to statuses), auth (bearer token).
"""

from __future__ import annotations

import mimetypes
from importlib import resources
from typing import Any

from aiohttp import web

from orbitstore.api.protocol import StoreAPI, Subscription
from orbitstore.daemon.auth import auth_middleware
from orbitstore.daemon.config import DEFAULT_MAX_BODY, DEFAULT_MAX_UPLOAD
from orbitstore.daemon.errors import error_middleware, json_response
from orbitstore.daemon.metrics import Metrics
from orbitstore.daemon.openapi import openapi_document
from orbitstore.daemon.routes import Route, Routes

__all__ = ["API_KEY", "METRICS_KEY", "ROUTES_KEY", "STREAMS_KEY", "create_app"]

API_KEY = web.AppKey("api", StoreAPI)
METRICS_KEY = web.AppKey("metrics", Metrics)
ROUTES_KEY = web.AppKey("routes", list[Route])
STREAMS_KEY = web.AppKey("streams", set[Subscription])

_STATIC = "static"


def _open_databases(api: StoreAPI) -> int:
    store = getattr(api, "store", None)
    databases = getattr(store, "databases", None)
    return len(databases()) if callable(databases) else 0


class _WebPage:
    """Serves ``orbitstore/daemon/static``: the page at ``/`` and its files under ``/static/``."""

    def __init__(self) -> None:
        self._root = resources.files("orbitstore.daemon") / _STATIC
        self._names = {item.name for item in self._root.iterdir() if item.is_file()}

    def _file(self, name: str) -> web.Response:
        if name not in self._names:
            raise web.HTTPNotFound()
        body = (self._root / name).read_bytes()
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        response = web.Response(body=body, content_type=content_type)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    async def index(self, request: web.Request) -> web.Response:
        return self._file("index.html")

    async def static(self, request: web.Request) -> web.Response:
        return self._file(request.match_info["name"])


def create_app(
    api: StoreAPI,
    *,
    token: str,
    max_body: int = DEFAULT_MAX_BODY,
    max_upload: int = DEFAULT_MAX_UPLOAD,
    keepalive: float = 15.0,
    close_api: bool = True,
) -> web.Application:
    """The daemon app over ``api``; requests need ``Authorization: Bearer <token>``.

    On shutdown the live event streams end (so draining does not wait on
    them); on cleanup the API is closed (``close_api``), which flushes the store.
    """
    metrics = Metrics(open_databases=lambda: _open_databases(api))
    streams: set[Subscription] = set()
    app = web.Application(
        client_max_size=max_body,
        middlewares=[metrics.middleware, error_middleware, auth_middleware(token)],
    )
    handlers = Routes(api, metrics=metrics, max_upload=max_upload, keepalive=keepalive, streams=streams)
    page = _WebPage()
    routes = handlers.table()

    async def openapi(request: web.Request) -> web.Response:
        return json_response(document)

    routes += [
        Route("GET", "/api/v0/openapi.json", openapi, "openapi", "This document", "node", response="text"),
        Route("GET", "/", page.index, "web_page", "The web page (no token needed; it asks for one)", "web",
              response="text", public=True),
        Route("GET", "/static/{name}", page.static, "web_static", "The web page's files", "web",
              response="text", public=True),
    ]  # fmt: skip
    document: dict[str, Any] = openapi_document(routes)
    for route in routes:
        app.router.add_route(route.method, route.path, route.handler, name=route.operation)

    async def end_streams(app: web.Application) -> None:
        for subscription in list(streams):
            await subscription.aclose()

    async def close(app: web.Application) -> None:
        if close_api:
            await api.aclose()

    app.on_shutdown.append(end_streams)
    app.on_cleanup.append(close)
    app[API_KEY] = api
    app[METRICS_KEY] = metrics
    app[ROUTES_KEY] = routes
    app[STREAMS_KEY] = streams
    return app
