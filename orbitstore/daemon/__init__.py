"""The orbitstore peer daemon: an aiohttp HTTP API over :class:`~orbitstore.api.StoreAPI`, and its client.

::

    orbitstore daemon --dir ./data --port 5101        # or: await serve(DaemonConfig(...))

* :func:`create_app`: the aiohttp application (routes under ``/api/v0``,
  OpenAPI at ``/api/v0/openapi.json``, ``/metrics``, ``/health``, the web page);
* :class:`Daemon` / :func:`serve`: its lifetime (store, Kubo, SIGTERM drain);
* :class:`DaemonClient`: the HTTP client implementing the same Protocol as the
  in-process API.

See ``docs/daemon.md`` and ``docs/http-api.md``.
"""

from orbitstore.daemon.app import create_app
from orbitstore.daemon.auth import TOKEN_FILE, load_or_create_token, read_token
from orbitstore.daemon.client import DaemonClient, DaemonSubscription, DaemonUnreachable
from orbitstore.daemon.config import DaemonConfig
from orbitstore.daemon.server import API_FILE, Daemon, free_port, read_api_file, serve

__all__ = [
    "API_FILE",
    "TOKEN_FILE",
    "Daemon",
    "DaemonClient",
    "DaemonConfig",
    "DaemonSubscription",
    "DaemonUnreachable",
    "create_app",
    "free_port",
    "load_or_create_token",
    "read_api_file",
    "read_token",
    "serve",
]
