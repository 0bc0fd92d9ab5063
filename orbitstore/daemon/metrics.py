"""Prometheus metrics, one registry per app (no global registry), served at ``/metrics``."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["Metrics"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The daemon's metrics and the middleware that records request counts and latencies."""

    def __init__(self, *, open_databases: Callable[[], int]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "orbitstore_http_requests",
            "HTTP requests handled, by method, route and status.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "orbitstore_http_request_duration_seconds",
            "Time to handle an HTTP request (until the handler returns; streams excluded).",
            ("method", "route"),
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "orbitstore_http_requests_in_flight", "Requests being handled now.", registry=self.registry
        )
        self.subscribers = Gauge("orbitstore_event_subscribers", "Open live event streams.", registry=self.registry)
        self.writes = Counter(
            "orbitstore_entries_written",
            "Entries written through the API, by operation.",
            ("op",),
            registry=self.registry,
        )
        self.open_databases = Gauge("orbitstore_open_databases", "Databases open now.", registry=self.registry)
        self.open_databases.set_function(lambda: float(open_databases()))

    def render(self) -> web.Response:
        """The exposition text."""
        response = web.Response(body=generate_latest(self.registry))
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Count each request and time it, labelled by route template (never by raw path)."""
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        started = time.perf_counter()
        self.in_flight.inc()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            self.in_flight.dec()
            if not route.endswith("/events"):  # a stream's duration is its lifetime, not a latency
                self.latency.labels(request.method, route).observe(time.perf_counter() - started)
            self.requests.labels(request.method, route, str(status)).inc()
