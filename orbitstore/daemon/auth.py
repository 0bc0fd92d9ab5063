"""The daemon's bearer token: kept with mode 0600 in the data directory, checked on every request.

The token file is created on first start (``<directory>/daemon-token``). Every
request needs ``Authorization: Bearer <token>`` except ``GET /health`` and the
web page's static files (they hold no data; the page asks for the token).
The token never appears in a URL the daemon sees, nor in its logs.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Middleware

from orbitstore.api.errors import Unauthorized
from orbitstore.errors import ConfigError

__all__ = ["TOKEN_FILE", "auth_middleware", "is_public", "load_or_create_token", "read_token"]

TOKEN_FILE = "daemon-token"
_PUBLIC_PATHS = frozenset({"/health", "/", "/favicon.ico"})
_PUBLIC_PREFIXES = ("/static/",)

_log = logging.getLogger("orbitstore.daemon")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def read_token(directory: str | os.PathLike[str]) -> str | None:
    """The token stored in ``directory``, or ``None`` when there is none."""
    path = Path(directory) / TOKEN_FILE
    try:
        token = path.read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    return token or None


def load_or_create_token(directory: str | os.PathLike[str]) -> str:
    """The token in ``directory``, created (mode 0600) on first use; a readable-by-others file is tightened."""
    path = Path(directory) / TOKEN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            _log.warning("token file was readable by others; set to 0600", extra={"path": str(path)})
            path.chmod(0o600)
        token = read_token(directory)
        if token is None or len(token) < 16:
            raise ConfigError(f"{path} holds no usable token: delete it to make a new one") from None
        return token
    token = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
    return token


def is_public(request: web.Request) -> bool:
    """True for the paths that need no token."""
    path = request.path
    if request.method not in ("GET", "HEAD"):
        return False
    return path in _PUBLIC_PATHS or path.startswith(_PUBLIC_PREFIXES)


def auth_middleware(token: str) -> Middleware:
    """A middleware admitting requests that carry ``Authorization: Bearer <token>``."""
    expected = token.encode()

    @web.middleware
    async def check_token(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not is_public(request):
            header = request.headers.get("Authorization", "")
            scheme, _, given = header.partition(" ")
            if scheme.lower() != "bearer" or not given:
                raise Unauthorized("missing bearer token (Authorization: Bearer <token from the data directory>)")
            if not hmac.compare_digest(given.strip().encode(), expected):
                raise Unauthorized("wrong bearer token")
        return await handler(request)

    return check_token
