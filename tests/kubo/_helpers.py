"""Test helpers: blocks and their CIDs (from independent libraries: dag-cbor, multiformats), polling."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

import dag_cbor
from multiformats import CID, multihash


def cbor_block(**fields: object) -> tuple[str, bytes]:
    """A DAG-CBOR block of ``fields`` (plus a random nonce) and its base58btc CIDv1 text."""
    data = dag_cbor.encode({"v": 1, "nonce": os.urandom(8).hex(), **fields})  # type: ignore[dict-item]
    return cid_of(data, "dag-cbor"), data


def cid_of(data: bytes, codec: str) -> str:
    """The base58btc sha2-256 CIDv1 text of ``data`` under ``codec``."""
    return str(CID("base58btc", 1, codec, multihash.digest(data, "sha2-256")))


def base32(cid: str) -> str:
    """The same CID in base32 (``bafy…``)."""
    return str(CID.decode(cid).encode("base32"))


def absent_cid() -> str:
    """The CID of a block no node has."""
    return cid_of(os.urandom(32), "dag-cbor")


async def wait_until(check: Callable[[], Awaitable[bool]]) -> None:
    """Poll a remote condition (Kubo has no events for it) until it holds; TimeoutError after 10 s."""
    async with asyncio.timeout(10):
        while True:
            if await check():
                return
            await asyncio.sleep(0.05)
