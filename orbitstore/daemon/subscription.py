"""The daemon's Server-Sent Events stream of a database's changes, as an async iterator (client side)."""

from __future__ import annotations

import json
from types import TracebackType
from typing import Self

import aiohttp

from orbitstore.api.errors import error_from_wire
from orbitstore.api.models import Change

__all__ = ["DaemonSubscription"]


class DaemonSubscription:
    """Live changes read from the daemon's Server-Sent Events stream."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self._closed = False

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Change:
        event, data = "message", []
        while not self._closed:
            try:
                raw = await self._response.content.readline()
            except (aiohttp.ClientError, ConnectionError):
                raw = b""
            if not raw:  # the daemon ended the stream
                await self.aclose()
                break
            line = raw.decode().rstrip("\r\n")
            if line.startswith(":"):
                continue
            if line:
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if field == "event":
                    event = value
                elif field == "data":
                    data.append(value)
                continue
            if not data:
                continue
            payload = json.loads("\n".join(data))
            if event == "error":
                await self.aclose()
                raise error_from_wire(str(payload.get("error")), str(payload.get("message")), status=500)
            if event == "change":
                return Change.from_wire(payload)
            event, data = "message", []
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Stop receiving changes. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._response.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
