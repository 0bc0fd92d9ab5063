"""A live ``pubsub/sub`` stream of a :class:`~orbitstore.kubo.client.KuboClient`.

Kubo answers ``pubsub/sub`` with one long HTTP response, a JSON object per
line per message, topics and data in multibase (see :mod:`orbitstore.kubo._encoding`).
"""

from __future__ import annotations

import json
from types import TracebackType
from typing import TYPE_CHECKING, Self

import aiohttp

from orbitstore.errors import DecodeError, KuboError
from orbitstore.kubo._encoding import multibase_decode, multibase_encode
from orbitstore.kubo._errors import error_from_response
from orbitstore.kubo.types import PubsubMessage

if TYPE_CHECKING:
    from orbitstore.kubo.client import KuboClient

__all__ = ["Subscription"]


class Subscription:
    """A live ``pubsub/sub`` stream: an async iterator of :class:`PubsubMessage`.

    Iterating raises :class:`KuboError` if the daemon ends the stream; after
    :meth:`aclose` (idempotent) iteration stops.
    """

    def __init__(self, client: KuboClient, topic: str, *, max_line: int) -> None:
        self.topic = topic
        self._client = client
        self._max_line = max_line
        self._response: aiohttp.ClientResponse | None = None
        self._buffer = bytearray()
        self._closed = False

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Open the stream; returns once Kubo has subscribed. Calling it again does nothing."""
        if self._response is not None:
            return
        if self._closed:
            raise KuboError(f"subscription to {self.topic!r} is closed")
        client = self._client
        session = client._ensure_session()
        command = "pubsub/sub"
        try:
            response = await session.post(
                client._url(command),
                params=[("arg", multibase_encode(self.topic.encode()))],
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=client._connect_timeout),
            )
        except aiohttp.ClientConnectorError as exc:
            raise KuboError(f"Kubo API at {client.api_url} is unreachable: {exc}") from exc
        except aiohttp.ClientError as exc:
            raise KuboError(f"Kubo {command} failed: {exc}") from exc
        if response.status != 200:
            body = await response.read()
            response.release()
            raise error_from_response(command, response.status, body)
        self._response = response

    async def _next_line(self, response: aiohttp.ClientResponse) -> bytes | None:
        """Return the next non-empty line of the stream, or ``None`` at its end."""
        buffer = self._buffer
        while True:
            while (end := buffer.find(b"\n")) >= 0:
                line = bytes(buffer[:end])
                del buffer[: end + 1]
                if line.strip():
                    return line
            if len(buffer) > self._max_line:
                raise KuboError(f"pubsub message on {self.topic!r} exceeds {self._max_line} bytes")
            chunk = await response.content.readany()
            if not chunk:
                line = bytes(buffer)
                buffer.clear()
                return line if line.strip() else None
            buffer += chunk

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> PubsubMessage:
        if self._closed:
            raise StopAsyncIteration
        await self.start()
        response = self._response
        if response is None:  # closed by another task meanwhile
            raise StopAsyncIteration
        try:
            line = await self._next_line(response)
        except aiohttp.ClientError as exc:
            if self._closed:
                raise StopAsyncIteration from exc
            raise KuboError(f"pubsub subscription to {self.topic!r} failed: {exc}") from exc
        if line is None:
            if self._closed:
                raise StopAsyncIteration
            raise KuboError(f"Kubo ended the pubsub subscription to {self.topic!r}")
        return _parse_message(line)

    async def aclose(self) -> None:
        """Stop the subscription (Kubo unsubscribes when the request ends). Safe to call twice."""
        self._closed = True
        response, self._response = self._response, None
        if response is not None:
            response.close()


def _parse_message(line: bytes) -> PubsubMessage:
    try:
        out = json.loads(line)
    except ValueError as exc:
        raise DecodeError(f"Kubo pubsub/sub sent invalid JSON: {line[:200]!r}") from exc
    if not isinstance(out, dict):
        raise DecodeError(f"Kubo pubsub/sub sent a non-object: {line[:200]!r}")
    data = out.get("data")
    seqno = out.get("seqno")
    return PubsubMessage(
        from_peer=str(out.get("from", "")),
        data=multibase_decode(data) if data else b"",
        seqno=multibase_decode(seqno) if seqno else b"",
        topics=tuple(multibase_decode(t).decode("utf-8", "replace") for t in out.get("topicIDs") or ()),
    )
