"""An asyncio client for the Kubo RPC API (``POST /api/v0/...``) on aiohttp.

Why not ``ipfshttpclient``: it is synchronous, refuses to talk to Kubo ≥ 0.8,
and its pubsub broke with Kubo 0.11. ``aioipfs`` is LGPL and its block/dag put
crash on aiohttp ≥ 3.12.2. This client covers the part of the API orbitstore
uses, with typed results and errors translated into :mod:`orbitstore.errors`:

* Kubo's ``{"Message", "Code", "Type"}`` error bodies → :class:`KuboError`, or
  :class:`NotFound` (missing block, not pinned), :class:`CIDError` (bad CID
  text) and :class:`StorageTimeout` (deadline exceeded) when the message says so;
* a refused connection → :class:`KuboError` saying the API is unreachable;
* a call that runs past its timeout → :class:`StorageTimeout`.

CIDs are returned as base58btc text (``zdpu…`` for dag-cbor CIDv1), as OrbitDB
prints them, whatever base Kubo answered in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import aiohttp

from orbitstore.errors import DecodeError, KuboError, StorageTimeout
from orbitstore.kubo._encoding import cid_to_base58btc, multibase_decode, multibase_encode
from orbitstore.kubo._errors import error_from_response
from orbitstore.kubo.subscription import Subscription
from orbitstore.kubo.types import (
    BlockStat,
    CarImport,
    NodeId,
    Pin,
    SwarmPeer,
    VersionInfo,
)

__all__ = ["KuboClient", "api_url_from_multiaddr"]

_Params = Sequence[tuple[str, str]]


def api_url_from_multiaddr(addr: str) -> str:
    """Turn an API multiaddr such as ``/ip4/127.0.0.1/tcp/5001`` into ``http://127.0.0.1:5001``.

    Text that already starts with ``http://`` or ``https://`` is returned without
    a trailing slash.
    """
    addr = addr.strip()
    if addr.startswith(("http://", "https://")):
        return addr.rstrip("/")
    parts = addr.strip("/").split("/")
    if len(parts) < 4 or parts[2] != "tcp" or parts[0] not in ("ip4", "ip6", "dns", "dns4", "dns6"):
        raise KuboError(f"unsupported Kubo API address {addr!r} (expected /ip4/<host>/tcp/<port>)")
    host = f"[{parts[1]}]" if parts[0] == "ip6" else parts[1]
    scheme = "https" if "https" in parts[4:] else "http"
    return f"{scheme}://{host}:{parts[3]}"


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _go_duration(seconds: float) -> str:
    """Kubo's ``timeout`` option takes a Go duration; milliseconds are precise enough."""
    return f"{max(1, round(seconds * 1000))}ms"


def _json_lines(body: bytes, command: str) -> list[Any]:
    """Parse Kubo's newline-delimited JSON output (one object per emitted value)."""
    values: list[Any] = []
    for line in body.splitlines():
        if not line.strip():
            continue
        try:
            values.append(json.loads(line))
        except ValueError as exc:
            raise DecodeError(f"Kubo {command} returned invalid JSON: {line[:200]!r}") from exc
    return values


class KuboClient:
    """An async client for one Kubo daemon's RPC API.

    ``api_url`` is ``http://host:port`` (or the API multiaddr). ``timeout`` is
    the limit in seconds for one call (:class:`StorageTimeout` past it); calls
    that wait for the network (block get/stat, pin add, dag export) also pass
    it to Kubo so the daemon stops looking when the client gives up. For a
    shorter limit on one call, wrap it in ``asyncio.timeout``: Kubo cancels
    the command when the request is dropped. ``auth`` is sent as the
    ``Authorization`` header when Kubo's ``API.Authorizations`` is in use.

    The client owns its aiohttp session::

        async with KuboClient("http://127.0.0.1:5001") as kubo:
            cid = await kubo.block_put(block)

    :meth:`aclose` is idempotent; calls after it raise :class:`KuboError`.
    """

    def __init__(
        self,
        api_url: str,
        *,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        max_connections: int = 32,
        auth: str | None = None,
    ) -> None:
        self.api_url = api_url_from_multiaddr(api_url)
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._max_connections = max_connections
        self._headers = {"Authorization": auth} if auth else {}
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"KuboClient({self.api_url!r})"

    async def __aenter__(self) -> Self:
        self._ensure_session()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` has been called."""
        return self._closed

    @property
    def timeout(self) -> float:
        """The limit in seconds for one call."""
        return self._timeout

    async def aclose(self) -> None:
        """Close the HTTP session. Safe to call twice."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    # -- plumbing ---------------------------------------------------------

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise KuboError(f"{self!r} is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                headers=self._headers,
            )
        return self._session

    def _url(self, command: str) -> str:
        return f"{self.api_url}/api/v0/{command}"

    async def _call(
        self,
        command: str,
        params: _Params = (),
        *,
        data: bytes | None = None,
        server_timeout: bool = False,
        call_timeout: float | None = None,
    ) -> bytes:
        """POST ``command`` and return the whole response body, translating failures.

        ``call_timeout`` replaces the client's timeout for this call (long imports).
        ``server_timeout`` also passes the timeout to Kubo, for commands that
        wait for the network: Kubo then answers "context deadline exceeded"
        instead of leaving the request open.
        """
        limit = self._timeout if call_timeout is None else call_timeout
        query = list(params)
        if server_timeout:
            query.append(("timeout", _go_duration(limit)))
        session = self._ensure_session()
        form: aiohttp.FormData | None = None
        if data is not None:
            form = aiohttp.FormData()
            form.add_field("file", data, filename="data", content_type="application/octet-stream")
        # The client-side limit is a little longer than Kubo's own, so that
        # Kubo's "context deadline exceeded" answer normally arrives first.
        client_limit = limit + 1.0 if server_timeout else limit
        try:
            async with session.post(
                self._url(command),
                params=query,
                data=form,
                timeout=aiohttp.ClientTimeout(total=client_limit, sock_connect=self._connect_timeout),
            ) as response:
                status = response.status
                body = await response.read()
        except TimeoutError as exc:
            raise StorageTimeout(f"Kubo {command} timed out after {limit:g} s") from exc
        except aiohttp.ClientConnectorError as exc:
            raise KuboError(f"Kubo API at {self.api_url} is unreachable: {exc}") from exc
        except aiohttp.ClientError as exc:
            raise KuboError(f"Kubo {command} failed: {exc}") from exc
        if status != 200:
            raise error_from_response(command, status, body)
        return body

    async def _call_json(self, command: str, params: _Params = (), **kwargs: Any) -> Any:
        body = await self._call(command, params, **kwargs)
        values = _json_lines(body, command)
        if len(values) != 1:
            raise DecodeError(f"Kubo {command} returned {len(values)} JSON values, expected 1")
        return values[0]

    # -- node -------------------------------------------------------------

    async def id(self) -> NodeId:
        """Return the node's peer id, public key, addresses, agent and protocols."""
        out = await self._call_json("id")
        return NodeId(
            peer_id=str(out["ID"]),
            public_key=str(out.get("PublicKey") or ""),
            addresses=tuple(out.get("Addresses") or ()),
            agent_version=str(out.get("AgentVersion") or ""),
            protocols=tuple(out.get("Protocols") or ()),
        )

    async def version(self) -> VersionInfo:
        """Return Kubo's version, commit, repo version, system and Go version."""
        out = await self._call_json("version")
        return VersionInfo(
            version=str(out.get("Version", "")),
            commit=str(out.get("Commit", "")),
            repo=str(out.get("Repo", "")),
            system=str(out.get("System", "")),
            golang=str(out.get("Golang", "")),
        )

    # -- blocks -----------------------------------------------------------

    async def block_put(
        self,
        data: bytes,
        *,
        codec: str = "dag-cbor",
        pin: bool = False,
    ) -> str:
        """Store ``data`` as one block (sha2-256, CIDv1) and return its base58btc CID text.

        ``codec`` is the CID's multicodec, ``"dag-cbor"`` or ``"raw"``; Kubo does
        not validate the bytes against it. ``pin=True`` pins the block in the
        same call.
        """
        params = [("cid-codec", codec), ("mhtype", "sha2-256"), ("pin", _flag(pin))]
        out = await self._call_json("block/put", params, data=data)
        return cid_to_base58btc(str(out["Key"]))

    async def block_get(self, cid: str, *, offline: bool = False) -> bytes:
        """Return the bytes of block ``cid``, fetching it from peers unless ``offline``.

        A block that cannot be found raises :class:`NotFound` (``offline=True``:
        at once) or :class:`StorageTimeout` (when the swarm does not deliver it
        within the client's timeout; wrap the call in ``asyncio.timeout`` for a
        shorter one).
        """
        params = [("arg", cid), ("offline", _flag(offline))]
        return await self._call("block/get", params, server_timeout=True)

    async def block_stat(self, cid: str, *, offline: bool = False) -> BlockStat:
        """Return the CID and size of block ``cid`` (same lookup rules as :meth:`block_get`)."""
        params = [("arg", cid), ("offline", _flag(offline))]
        out = await self._call_json("block/stat", params, server_timeout=True)
        return BlockStat(cid=cid_to_base58btc(str(out["Key"])), size=int(out["Size"]))

    async def block_rm(self, cid: str, *, force: bool = False) -> None:
        """Remove block ``cid`` from the local blockstore.

        ``force=True`` ignores a block that is not there. A pinned block is not
        removed: Kubo refuses, and this raises :class:`KuboError`.
        """
        params = [("arg", cid), ("force", _flag(force))]
        for out in _json_lines(await self._call("block/rm", params), "block/rm"):
            if out.get("Error"):
                raise KuboError(f"Kubo block/rm {cid} failed: {out['Error']}")

    # -- pins -------------------------------------------------------------

    async def pin_add(self, *cids: str, recursive: bool = True, call_timeout: float | None = None) -> list[str]:
        """Pin each of ``cids`` (and what it links to, when ``recursive``) in one call; return the pinned CIDs.

        A recursive pin fetches missing descendants from peers first; a direct
        one (``recursive=False``) pins the block alone. Kubo stores pins one by
        one (about 2 ms each): see :class:`~orbitstore.storage.kubo.KuboStorage`
        for pinning many blocks at once. ``call_timeout`` replaces the client's timeout.
        """
        if not cids:
            raise ValueError("pin_add needs at least one CID")
        params = [("arg", cid) for cid in cids]
        params += [("recursive", _flag(recursive)), ("cid-base", "base58btc")]
        out = await self._call_json("pin/add", params, server_timeout=True, call_timeout=call_timeout)
        return [cid_to_base58btc(str(c)) for c in out.get("Pins") or ()]

    async def pin_update(self, old: str, new: str, *, unpin: bool = True) -> None:
        """Move a recursive pin from ``old`` to ``new`` (Kubo walks only the difference); drop ``old`` when ``unpin``.

        Raises :class:`NotFound` when ``old`` is not pinned recursively.
        """
        params = [("arg", old), ("arg", new), ("unpin", _flag(unpin))]
        await self._call("pin/update", params, server_timeout=True)

    async def pin_rm(self, cid: str, *, recursive: bool = True) -> list[str]:
        """Unpin ``cid``; return the unpinned CIDs. Raises :class:`NotFound` when it is not pinned."""
        params = [("arg", cid), ("recursive", _flag(recursive)), ("cid-base", "base58btc")]
        out = await self._call_json("pin/rm", params)
        return [cid_to_base58btc(str(c)) for c in out.get("Pins") or ()]

    async def pin_ls(self, cid: str | None = None, *, type: str = "all") -> list[Pin]:
        """List pins of ``type`` (``all``, ``recursive``, ``direct``, ``indirect``), sorted by CID.

        With ``cid``, list only that CID's pin; a CID that is not pinned raises
        :class:`NotFound`.
        """
        params = [("type", type), ("cid-base", "base58btc")]
        if cid is not None:
            params.append(("arg", cid))
        out = await self._call_json("pin/ls", params)
        keys: Mapping[str, Any] = out.get("Keys") or {}
        pins = [Pin(cid=cid_to_base58btc(k), type=str(v.get("Type", ""))) for k, v in keys.items()]
        return sorted(pins, key=lambda p: p.cid)

    async def repo_gc(self) -> list[str]:
        """Run Kubo's garbage collector now; return the CIDs of the blocks it removed.

        Everything not pinned (directly, recursively or through a recursive
        pin) and not in MFS is removed. Kubo's blockstore keeps multihashes
        only, so the CIDs come back with the ``raw`` codec (``zb2…``), not the
        codec the blocks were stored with.
        """
        removed: list[str] = []
        for out in _json_lines(await self._call("repo/gc", [("stream-errors", "true")]), "repo/gc"):
            if out.get("Error"):
                raise KuboError(f"Kubo repo/gc failed: {out['Error']}")
            key = out.get("Key")
            if key:
                removed.append(cid_to_base58btc(str(key["/"])))
        return removed

    # -- DAGs and routing -------------------------------------------------

    async def dag_import(self, car: bytes, *, pin_roots: bool = True, call_timeout: float | None = None) -> CarImport:
        """Import a CAR file; pin its roots when ``pin_roots``; return roots and block counts.

        Kubo pins a root recursively, fetching from peers any descendant the
        CAR and the blockstore lack. ``call_timeout`` replaces the client's
        timeout (Kubo imports roughly 10,000 small blocks per second).
        """
        params = [("pin-roots", _flag(pin_roots)), ("stats", "true"), ("cid-base", "base58btc")]
        body = await self._call("dag/import", params, data=car, call_timeout=call_timeout)
        roots: list[str] = []
        count: int | None = None
        size: int | None = None
        for out in _json_lines(body, "dag/import"):
            root = out.get("Root")
            if root:
                if root.get("PinErrorMsg"):
                    raise KuboError(f"Kubo dag/import could not pin a root: {root['PinErrorMsg']}")
                roots.append(cid_to_base58btc(str(root["Cid"]["/"])))
            stats = out.get("Stats")
            if stats:
                count = int(stats.get("BlockCount", 0))
                size = int(stats.get("BlockBytesCount", 0))
        return CarImport(roots=tuple(roots), block_count=count, block_bytes=size)

    async def dag_export(self, cid: str) -> bytes:
        """Export the DAG under ``cid`` (following IPLD links) as CAR v1 bytes."""
        return await self._call("dag/export", [("arg", cid)], server_timeout=True)

    async def routing_provide(self, cid: str, *, recursive: bool = False) -> None:
        """Announce that this node provides ``cid`` to the configured routing system.

        With the isolated profile (``Routing.Type=none``) nothing leaves the
        node; Kubo refuses with :class:`KuboError` when no peer is connected.
        """
        params = [("arg", cid), ("recursive", _flag(recursive))]
        await self._call("routing/provide", params)

    # -- swarm ------------------------------------------------------------

    async def swarm_connect(self, addr: str) -> list[str]:
        """Connect to a peer multiaddr (ending in ``/p2p/<peer id>``); return Kubo's status lines."""
        out = await self._call_json("swarm/connect", [("arg", addr)])
        return [str(s) for s in out.get("Strings") or ()]

    async def swarm_peers(self) -> list[SwarmPeer]:
        """List connected peers, sorted by peer id."""
        out = await self._call_json("swarm/peers")
        peers = [SwarmPeer(peer_id=str(p["Peer"]), addr=str(p["Addr"])) for p in out.get("Peers") or ()]
        return sorted(peers, key=lambda p: p.peer_id)

    # -- pubsub -----------------------------------------------------------

    async def pubsub_pub(self, topic: str, data: bytes) -> None:
        """Publish ``data`` on ``topic`` (best effort: gossipsub does not acknowledge)."""
        await self._call("pubsub/pub", [("arg", multibase_encode(topic.encode()))], data=data)

    async def pubsub_ls(self) -> list[str]:
        """List the topics this node is subscribed to, sorted."""
        out = await self._call_json("pubsub/ls")
        return sorted(multibase_decode(t).decode() for t in out.get("Strings") or ())

    async def pubsub_peers(self, topic: str | None = None) -> list[str]:
        """List peers we pubsub with (on ``topic`` when given), sorted."""
        params = [] if topic is None else [("arg", multibase_encode(topic.encode()))]
        out = await self._call_json("pubsub/peers", params)
        return sorted(str(p) for p in out.get("Strings") or ())

    def pubsub_sub(self, topic: str, *, max_line: int = 8 * 1024 * 1024) -> Subscription:
        """Return a subscription to ``topic``; use it as an async context manager.

        The subscription is active once ``async with`` has entered (Kubo answers
        the request only after subscribing)::

            async with kubo.pubsub_sub("topic") as sub:
                async for message in sub:
                    ...

        ``max_line`` bounds the size of one encoded message.
        """
        return Subscription(self, topic, max_line=max_line)
