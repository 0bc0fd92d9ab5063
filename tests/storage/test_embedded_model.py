"""Model-based check: random writes, commits and reopens of an embedded store agree with a dict.

This exercises the layering that reads see through (pending buffer, commit in
flight, disk), clears, iteration across chunks, and batch-size commits.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orbitstore.storage import EmbeddedStore

NAMES = ["entries", "heads"]
KEYS = st.sampled_from(["a", "b", "bb", "c", "é", "zz", "🔑"])
VALUES = st.binary(max_size=6)

OPS = st.one_of(
    st.tuples(st.just("put"), st.sampled_from(NAMES), KEYS, VALUES),
    st.tuples(st.just("delete"), st.sampled_from(NAMES), KEYS),
    st.tuples(st.just("clear"), st.sampled_from(NAMES)),
    st.tuples(st.just("sync"), st.sampled_from(NAMES)),
    st.tuples(st.just("flush")),
    st.tuples(st.just("overlap")),  # writes made while a commit is in flight
    st.tuples(st.just("reopen")),
)


async def run(directory: Path, durability: str, ops: list[tuple[Any, ...]]) -> None:
    model: dict[str, dict[str, bytes]] = {name: {} for name in NAMES}

    async def open_store() -> EmbeddedStore:
        return await EmbeddedStore.open(
            directory,
            durability=durability,  # type: ignore[arg-type]
            batch_size=3,
            batch_interval=3600,
        )

    store = await open_store()
    try:
        for op in ops:
            kind = op[0]
            if kind == "put":
                _, name, key, value = op
                await store.storage(name).put(key, value)
                model[name][key] = value
            elif kind == "delete":
                _, name, key = op
                await store.storage(name).delete(key)
                model[name].pop(key, None)
            elif kind == "clear":
                await store.storage(op[1]).clear()
                model[op[1]].clear()
            elif kind == "sync":
                await store.storage(op[1]).sync()
            elif kind == "flush":
                await store.flush()
            elif kind == "overlap":
                s = store.storage("entries")
                await s.put("overlap", b"1")
                commit = asyncio.create_task(store.flush())
                await asyncio.sleep(0)
                await s.put("overlap", b"2")
                await s.delete("a")
                model["entries"]["overlap"] = b"2"
                model["entries"].pop("a", None)
                assert await s.get("overlap") == b"2"
                await commit
            elif kind == "reopen":
                await store.aclose()
                store = await open_store()
            for name in NAMES:
                storage = store.storage(name)
                pairs = [pair async for pair in storage.items()]
                assert pairs == sorted(model[name].items(), key=lambda kv: kv[0].encode())
                for key in ("a", "bb", "🔑", "missing"):
                    assert await storage.get(key) == model[name].get(key)
    finally:
        await store.aclose()
    store = await open_store()
    try:
        for name in NAMES:
            assert {k: v async for k, v in store.storage(name).items()} == model[name]
    finally:
        await store.aclose()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(durability=st.sampled_from(["batch", "durable"]), ops=st.lists(OPS, max_size=25))
def test_embedded_store_behaves_like_a_dict(durability: str, ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(run(Path(directory), durability, ops))
