"""The direct fast path between orbitstore peers, over a TCP stream.

One connection per exchange. A client that has not opened the database yet
sends one ``setup`` frame instead and gets its manifest and access-controller
blocks (:mod:`orbitstore.sync.setup`). Otherwise the client sends one ``have`` frame (the
database address and its heads); the server answers with every block the
client lacks — first the identity blocks those entries need, then the
entries parents first (:func:`~orbitstore.sync.plan.missing_entries`), each
preceded by the blocks its payload links to that the server holds (dataset
records) — then a ``done`` frame with its heads, and closes. Frames are a 4-byte big-endian
length and a strict DAG-CBOR message (:mod:`orbitstore.sync.messages`).

Limits: a frame longer than ``max_frame`` (default
:data:`~orbitstore.config.MAX_BLOCK_SIZE`) is rejected and counted, and the
connection dropped; the client connects only to hosts in ``allowed_hosts``
(loopback by default: an endpoint comes from a peer's announcement, and we
must not be made to connect anywhere it says); reads time out after
``read_timeout`` seconds of silence. The server verifies nothing it sends
(it sends only what it verified when joining); the client trusts nothing
it receives: the log verifies every entry when it is joined.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, fields
from types import TracebackType
from typing import TYPE_CHECKING, Self

from orbitstore.config import MAX_BLOCK_SIZE
from orbitstore.databases.manifest import Address
from orbitstore.errors import ConfigError, DecodeError, OrbitStoreError, SyncError
from orbitstore.sync.messages import (
    FRAME_HEADER_SIZE,
    MAX_HEADS,
    Have,
    Refusal,
    Setup,
    decode_client_message,
    decode_server_message,
    encode_message,
    frame,
    frame_length,
)
from orbitstore.sync.plan import linked_cids, missing_entries
from orbitstore.sync.setup import MAX_SETUP_BLOCKS, check_setup, gather_setup
from orbitstore.sync.transport import DirectBlock, DirectDone, DirectItem

if TYPE_CHECKING:
    from orbitstore.log import Log

__all__ = ["DirectNode", "DirectStats", "parse_endpoint"]

_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_WRITE_BATCH = 256 * 1024
_READ_SIZE = 256 * 1024
_MAX_REQUEST = 256 * 1024  # a have message: an address and up to MAX_HEADS CIDs


@dataclass(frozen=True, slots=True)
class DirectStats:
    """Counters of a :class:`DirectNode`, server and client side."""

    #: requests answered with blocks (server)
    served: int = 0
    #: requests refused: unknown database, malformed request, too many connections (server)
    refused: int = 0
    #: blocks and bytes sent (server)
    blocks_sent: int = 0
    bytes_sent: int = 0
    #: exchanges opened (client)
    exchanges: int = 0
    #: blocks received (client)
    blocks_received: int = 0
    #: frames over ``max_frame`` (either side), rejected
    oversized_frames: int = 0
    #: frames that were not a valid message (either side), rejected
    malformed_frames: int = 0
    #: server connections dropped because the client went away, stalled or misbehaved
    dropped_connections: int = 0


def parse_endpoint(endpoint: str) -> tuple[str, int]:
    """Split ``host:port`` (``[v6]:port`` for IPv6) into host and port; :class:`ConfigError` if malformed."""
    host, sep, port_text = endpoint.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"endpoint {endpoint!r} is not host:port")
    return host, int(port_text)


class DirectNode:
    """Server and client of the direct path; implements :class:`~orbitstore.sync.transport.DirectPath`.

    ::

        async with DirectNode() as direct:            # listens on 127.0.0.1, a free port
            stop = direct.serve(db.log)
            async with direct.exchange(other.endpoint, address=str(db.address), heads=[...]) as stream:
                async for item in stream:
                    ...

    ``listen=False`` makes a client only (``endpoint`` is ``None``).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        listen: bool = True,
        max_frame: int = MAX_BLOCK_SIZE,
        allowed_hosts: frozenset[str] = _LOOPBACK,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_connections: int = 64,
    ) -> None:
        if max_frame < 1024:
            raise ConfigError("max_frame must be at least 1024 bytes")
        self._host = host
        self._port = port
        self._listen = listen
        self.max_frame = max_frame
        self.allowed_hosts = allowed_hosts
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._max_connections = max_connections
        self._server: asyncio.Server | None = None
        self._endpoint: str | None = None
        self._logs: dict[str, Log] = {}
        self._handlers: set[asyncio.Task[None]] = set()
        self._counts = dict.fromkeys((f.name for f in fields(DirectStats)), 0)
        self._closed = False

    def __repr__(self) -> str:
        return f"DirectNode(endpoint={self._endpoint!r})"

    # -- lifetime --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start listening (when ``listen``). Calling it again does nothing."""
        if self._closed:
            raise SyncError("the direct node is closed")
        if not self._listen or self._server is not None:
            return
        self._server = await asyncio.start_server(self._handle, self._host, self._port)
        sock = self._server.sockets[0].getsockname()
        host = f"[{sock[0]}]" if ":" in sock[0] else sock[0]
        self._endpoint = f"{host}:{sock[1]}"

    async def aclose(self) -> None:
        """Stop listening and end the connections being served. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.wait(list(self._handlers))
        if server is not None:
            await server.wait_closed()
        self._logs.clear()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- what it offers --------------------------------------------------------------------------

    @property
    def endpoint(self) -> str | None:
        """``host:port`` this node's server listens on, or ``None``."""
        return self._endpoint

    def stats(self) -> DirectStats:
        """A snapshot of the counters."""
        return DirectStats(**self._counts)

    def serve(self, log: Log) -> Callable[[], None]:
        """Serve ``log`` under its id (the database address); returns a function that stops serving it."""
        self._logs[log.id] = log

        def stop() -> None:
            if self._logs.get(log.id) is log:
                del self._logs[log.id]

        return stop

    # -- server ----------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            if len(self._handlers) > self._max_connections:
                self._counts["refused"] += 1
                writer.write(frame(encode_message(Refusal("too many connections"))))
                return
            payload = await _FrameReader(reader, self, max_frame=min(self.max_frame, _MAX_REQUEST)).read()
            if payload is None:
                return
            try:
                request = decode_client_message(payload)
            except DecodeError as exc:
                self._counts["malformed_frames"] += 1
                self._counts["refused"] += 1
                writer.write(frame(encode_message(Refusal(f"malformed request: {exc}"))))
                return
            log = self._logs.get(request.address)
            if log is None:
                self._counts["refused"] += 1
                writer.write(frame(encode_message(Refusal(f"database {request.address} is not served here"))))
                return
            if isinstance(request, Setup):
                await self._send_setup(log, writer)
            else:
                await self._send_missing(log, request, writer)
            self._counts["served"] += 1
        except (OSError, TimeoutError, OrbitStoreError):
            # The client went away, stalled or misbehaved: drop the connection, count it.
            self._counts["dropped_connections"] += 1
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _send_setup(self, log: Log, writer: asyncio.StreamWriter) -> None:
        blocks = await gather_setup(log.entry_storage.get, Address.parse(log.id).manifest_hash)
        out = bytearray()
        for block in blocks:
            out += frame(encode_message(block))
            self._counts["blocks_sent"] += 1
            self._counts["bytes_sent"] += len(block.data)
        heads = await log.heads()
        out += frame(encode_message(DirectDone(tuple(h.hash for h in heads[:MAX_HEADS]), len(blocks))))
        writer.write(bytes(out))
        await writer.drain()

    async def _send_missing(self, log: Log, have: Have, writer: asyncio.StreamWriter) -> None:
        heads = await log.heads()
        entries = await missing_entries(log, have.heads, heads=heads)
        buffer = bytearray()
        sent = 0

        async def put(message: DirectBlock | DirectDone) -> None:
            nonlocal sent
            payload = encode_message(message)
            if len(payload) > self.max_frame:
                return  # a block too large for a frame: the client fetches it from its block source
            buffer.extend(frame(payload))
            if isinstance(message, DirectBlock):
                sent += 1
                self._counts["blocks_sent"] += 1
                self._counts["bytes_sent"] += len(message.data)
            if len(buffer) >= _WRITE_BATCH:
                writer.write(bytes(buffer))
                buffer.clear()
                await writer.drain()

        for identity in dict.fromkeys(e.identity for e in entries):
            block = await log.identities.storage.get(identity)
            if block is not None:
                await put(DirectBlock(identity, block))
        sending = {e.hash for e in entries}
        linked: set[str] = set()
        for entry in entries:
            for cid in linked_cids(entry.payload):  # e.g. dataset records, just before their entry
                if cid in linked or cid in sending:
                    continue
                linked.add(cid)
                if not await log.has(cid):
                    block = await log.entry_storage.get(cid)
                    if block is not None:
                        await put(DirectBlock(cid, block))
            await put(DirectBlock(entry.hash, entry.bytes))
        await put(DirectDone(tuple(h.hash for h in heads[:MAX_HEADS]), sent))
        writer.write(bytes(buffer))
        await writer.drain()

    # -- client ----------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def exchange(self, endpoint: str, *, address: str, heads: Sequence[str]) -> AsyncIterator[_Stream]:
        """Connect to ``endpoint``, send our ``heads`` of ``address``, and stream the answer.

        Iterating yields :class:`DirectBlock` items, then one :class:`DirectDone`.
        What the peer did wrong raises :class:`SyncError` (a frame over
        ``max_frame``) or :class:`DecodeError` (a malformed frame); what may be
        no one's fault raises :class:`ConnectionError` (refused — then
        :class:`ConnectionRefusedError` —, cut short, unreachable) or
        :class:`TimeoutError`. An endpoint outside ``allowed_hosts`` raises
        :class:`ConfigError`.
        """
        if len(heads) > MAX_HEADS:
            heads = list(heads)[:MAX_HEADS]
        async with self._request(endpoint, Have(address, tuple(heads))) as stream:
            yield stream

    @contextlib.asynccontextmanager
    async def _request(self, endpoint: str, message: Have | Setup) -> AsyncIterator[_Stream]:
        """Connect to ``endpoint`` (one of ``allowed_hosts``), send ``message``, and stream the answer."""
        host, port = parse_endpoint(endpoint)
        if host not in self.allowed_hosts:
            raise ConfigError(f"endpoint host {host!r} is not in allowed_hosts")
        async with asyncio.timeout(self._connect_timeout):
            reader, writer = await asyncio.open_connection(host, port)
        self._counts["exchanges"] += 1
        try:
            writer.write(frame(encode_message(message)))
            await writer.drain()
            yield _Stream(self, reader)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def fetch_setup(self, endpoint: str, *, address: str) -> dict[str, bytes]:
        """Ask ``endpoint`` for the blocks needed to open ``address`` (manifest, access controller).

        Returns them by CID, each checked (:func:`~orbitstore.sync.setup.check_setup`):
        :class:`SyncError` when the peer sends anything else or no manifest;
        otherwise the errors of :meth:`exchange`.
        """
        manifest_hash = Address.parse(address).manifest_hash
        blocks: list[DirectBlock] = []
        async with self._request(endpoint, Setup(address)) as stream:
            async for item in stream:
                if isinstance(item, DirectBlock):
                    if len(blocks) >= MAX_SETUP_BLOCKS:
                        raise SyncError(f"a setup answer holds more than {MAX_SETUP_BLOCKS} blocks")
                    blocks.append(item)
        return check_setup(manifest_hash, blocks)


class _FrameReader:
    """Reads frames from a stream through one buffer (few reads for many small frames)."""

    def __init__(self, reader: asyncio.StreamReader, node: DirectNode, *, max_frame: int) -> None:
        self._reader = reader
        self._node = node
        self._max_frame = max_frame
        self._buffer = bytearray()
        self._pos = 0

    async def read(self) -> bytes | None:
        """The next frame's payload, or ``None`` at a clean end of stream.

        :class:`SyncError` for a frame over the limit (counted, checked before
        its body is read), :class:`ConnectionError` for a stream cut inside a
        frame, :class:`TimeoutError` after ``read_timeout`` seconds of silence.
        """
        buffer = self._buffer
        while True:
            available = len(buffer) - self._pos
            if available >= FRAME_HEADER_SIZE:
                size = frame_length(bytes(buffer[self._pos : self._pos + FRAME_HEADER_SIZE]))
                if size > self._max_frame:
                    self._node._counts["oversized_frames"] += 1
                    raise SyncError(f"frame of {size} bytes exceeds the {self._max_frame}-byte limit")
                end = self._pos + FRAME_HEADER_SIZE + size
                if len(buffer) >= end:
                    payload = bytes(buffer[self._pos + FRAME_HEADER_SIZE : end])
                    self._pos = end
                    if self._pos > _READ_SIZE:
                        del buffer[: self._pos]
                        self._pos = 0
                    return payload
            async with asyncio.timeout(self._node._read_timeout):
                chunk = await self._reader.read(_READ_SIZE)
            if not chunk:
                if available == 0:
                    return None
                raise ConnectionError("the stream ended inside a frame")
            buffer += chunk


class _Stream:
    """The answer of a direct-path server, as an async iterator of :data:`DirectItem`."""

    def __init__(self, node: DirectNode, reader: asyncio.StreamReader) -> None:
        self._node = node
        self._frames = _FrameReader(reader, node, max_frame=node.max_frame)
        self._done = False

    def __aiter__(self) -> _Stream:
        return self

    async def __anext__(self) -> DirectItem:
        if self._done:
            raise StopAsyncIteration
        node = self._node
        payload = await self._frames.read()
        if payload is None:
            raise ConnectionError("the direct stream ended before its done message")
        try:
            message = decode_server_message(payload)
        except DecodeError:
            node._counts["malformed_frames"] += 1
            raise
        if isinstance(message, Refusal):
            raise ConnectionRefusedError(f"the direct peer refused: {message.message}")
        if isinstance(message, DirectDone):
            self._done = True
        else:
            node._counts["blocks_received"] += 1
        return message
