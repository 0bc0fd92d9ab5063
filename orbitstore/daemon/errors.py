"""The one middleware that turns errors into HTTP statuses with a JSON body.

Every error response is ``{"error": <type>, "message": <text>}`` (plus
``"part"`` for :class:`~orbitstore.api.errors.NotAvailable`). orbitstore errors
get their status from :func:`orbitstore.api.errors.status_for`; aiohttp's own
HTTP errors (unknown route, wrong method, body too large) keep theirs;
anything else is a 500 whose details go to the log, not to the client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from orbitstore.api.errors import NotAvailable, Unauthorized, status_for
from orbitstore.errors import OrbitStoreError

__all__ = ["error_middleware", "error_response", "json_response"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_log = logging.getLogger("orbitstore.daemon")

_HTTP_NAMES = {
    400: "InvalidRequest",
    401: "Unauthorized",
    403: "AccessDenied",
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
}


def json_response(data: Any, *, status: int = 200) -> web.Response:
    """A JSON response (UTF-8, no NaN)."""
    return web.Response(
        text=json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")),
        status=status,
        content_type="application/json",
    )


def error_response(status: int, name: str, message: str, **extra: Any) -> web.Response:
    """``{"error": name, "message": message, …}`` with ``status``."""
    return json_response({"error": name, "message": message, **extra}, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map every error a handler raises to a JSON error response."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        name = _HTTP_NAMES.get(exc.status, "HTTPError")
        message = exc.text if exc.text and exc.content_type == "text/plain" else exc.reason
        if exc.status == 413:
            message = f"request body too large: {message}"
        if exc.status == 404 and name == "NotFound":
            message = f"no route for {request.method} {request.path}"
        response = error_response(exc.status, name, message)
        allow = exc.headers.get("Allow")
        if allow:
            response.headers["Allow"] = allow
        return response
    except OrbitStoreError as exc:
        status = status_for(exc)
        extra: dict[str, Any] = {"part": exc.part} if isinstance(exc, NotAvailable) else {}
        response = error_response(status, type(exc).__name__, str(exc), **extra)
        if isinstance(exc, Unauthorized):
            response.headers["WWW-Authenticate"] = 'Bearer realm="orbitstore"'
        if status >= 500 and status != 501:
            _log.warning("request failed", extra={"path": request.path, "error": type(exc).__name__})
        return response
    except ValueError as exc:
        return error_response(400, "InvalidRequest", str(exc))
    except Exception:
        _log.exception("unexpected error", extra={"method": request.method, "path": request.path})
        return error_response(500, "InternalError", "internal error (details are in the daemon's log)")
