"""The block fetcher of one join: streamed blocks first, then the block source, fetching ahead along refs.

The log joins a head round by round: it fetches the entries the current
ones point at (``next`` and ``refs``, up to 16 skip references back), checks
them, and only then asks for the next round. Over bitswap each round costs a
network round trip *plus* the log's own work. :class:`Fetcher` fetches ahead:
as soon as a block arrives it starts fetching the entries that block points
at, up to ``window`` blocks ahead of the log, so the network walks down the
history while the log verifies. The walk is still one round trip per 17
entries or so (that is how far refs reach), but no longer waits for the log.

Prefetched blocks are held until the log asks for them (at most ``window``);
they are charged to the peer when the log takes them. :meth:`aclose` cancels
what is still in flight.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Mapping

from orbitstore.errors import KuboError, NotFound, StorageError, StorageTimeout
from orbitstore.sync.plan import peek_entry
from orbitstore.sync.transport import BlockSource

__all__ = ["Fetcher"]

_FAILURES = (StorageError, KuboError, NotFound, OSError)


class Fetcher:
    """A :data:`~orbitstore.log.BlockFetcher` for one join (call it with a CID)."""

    def __init__(
        self,
        source: BlockSource | None,
        *,
        log_id: str,
        limit: asyncio.Semaphore,
        timeout: float,
        has: Callable[[str], Awaitable[bool]],
        account: Callable[[bytes], Awaitable[None]],
        local: Mapping[str, bytes] | None = None,
        window: int = 0,
        check: Callable[[], None] | None = None,
    ) -> None:
        self._source = source
        self._log_id = log_id
        self._limit = limit
        self._timeout = timeout
        self._has = has
        self._account = account
        self._local = local
        self._window = window
        self._check = check
        self._ahead: dict[str, asyncio.Task[bytes | Exception | None]] = {}
        self._wanted: deque[str] = deque()
        self._seen: set[str] = set()
        self._closed = False
        #: blocks asked of the block source so far (the log's requests)
        self.requested = 0

    async def __call__(self, cid: str) -> bytes | None:
        if self._local is not None:
            block = self._local.get(cid)
            if block is not None:
                return block
        if self._check is not None:
            self._check()
        if self._source is None:
            return None
        self.requested += 1
        self._seen.add(cid)
        task = self._ahead.pop(cid, None)
        if task is not None:
            result = await task
            if isinstance(result, Exception):
                raise result
            block = result
        else:
            block = await self._get(cid)
        self._pump()
        if block is None:
            return None
        await self._account(block)
        self._expand(block)
        return block

    async def _get(self, cid: str) -> bytes | None:
        assert self._source is not None
        async with self._limit:
            try:
                async with asyncio.timeout(self._timeout):
                    return await self._source.get(cid)
            except TimeoutError as exc:
                if isinstance(exc, StorageTimeout):
                    raise
                raise StorageTimeout(f"block {cid} did not arrive within {self._timeout:g} s") from exc

    # -- fetching ahead ----------------------------------------------------------------------------

    def _expand(self, block: bytes) -> None:
        """Want the entries ``block`` points at (when it is an entry of this log)."""
        if not self._window:
            return
        ref = peek_entry("", block)
        if ref is None or ref.id != self._log_id:
            return
        for cid in (*ref.next, *ref.refs):
            if cid not in self._seen:
                self._seen.add(cid)
                self._wanted.append(cid)
        self._pump()

    def _pump(self) -> None:
        while self._wanted and len(self._ahead) < self._window and not self._closed:
            cid = self._wanted.popleft()
            self._ahead[cid] = asyncio.create_task(self._prefetch(cid), name=f"prefetch {cid}")

    async def _prefetch(self, cid: str) -> bytes | Exception | None:
        try:
            if await self._has(cid):
                self._ahead.pop(cid, None)  # the log has it: it will not ask
                return None
            block = await self._get(cid)
        except _FAILURES as exc:
            return exc  # raised if and when the log asks for this block
        if block is not None:
            self._expand(block)
        return block

    async def aclose(self) -> None:
        """Cancel what is still being fetched ahead. Safe to call twice."""
        self._closed = True
        tasks = list(self._ahead.values())
        self._ahead.clear()
        self._wanted.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
