"""Structured logs: one JSON object per line, for the daemon and its access log.

Access records carry the method, the path without its query string, the
route, the status, the duration and the peer address — never headers, so the
bearer token never reaches a log.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import IO, Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

__all__ = ["JsonAccessLogger", "JsonFormatter", "configure_logging"]

# Attributes every LogRecord has; anything else was passed through ``extra=`` and is logged as a field.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """Formats a record as ``{"ts", "level", "logger", "msg", …extra fields}``."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def configure_logging(*, level: int = logging.INFO, stream: IO[str] | None = None) -> logging.Handler:
    """Send ``orbitstore`` and ``aiohttp`` logs to ``stream`` (stderr) as JSON lines; returns the handler."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("orbitstore", "aiohttp"):
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if not isinstance(h.formatter, JsonFormatter)]
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
    return handler


class JsonAccessLogger(AbstractAccessLogger):
    """aiohttp access log as structured records on the ``aiohttp.access`` logger."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time_taken: float) -> None:
        route = "unmatched"
        if isinstance(request, web.Request) and request.match_info.route.resource is not None:
            route = request.match_info.route.resource.canonical
        self.logger.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status,
            extra={
                "method": request.method,
                "path": request.path,
                "route": route,
                "status": response.status,
                "duration_ms": round(time_taken * 1000, 3),
                "remote": request.remote,
                "at": round(time.time(), 3),
            },
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
