"""The contract suite's fixture: every test runs against the in-process API and a real daemon over HTTP.

``api`` is a :class:`~orbitstore.api.StoreAPI`: a :class:`LocalAPI` over a
store in ``tmp_path``, or a :class:`DaemonClient` talking to a
:class:`Daemon` bound to 127.0.0.1 on a free port (a real ``web.AppRunner``
and TCP socket). Both are stopped at the end of each test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orbitstore.api import StoreAPI, open_local
from orbitstore.api._sync import SyncService
from orbitstore.daemon import Daemon, DaemonClient, DaemonConfig

KINDS = ["local", "http"]


async def _open(kind: str, directory: Path) -> AsyncIterator[StoreAPI]:
    if kind == "local":
        async with open_local(directory, identity="contract", sync=SyncService()) as api:
            yield api
    else:
        async with (
            Daemon(DaemonConfig(directory=directory, port=0, identity="contract")) as daemon,
            DaemonClient(daemon.url, token=daemon.token) as client,
        ):
            yield client


@pytest.fixture(params=KINDS)
async def api(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreAPI]:
    """A fresh node behind one of the two implementations."""
    async for opened in _open(request.param, tmp_path / "node"):
        yield opened
