"""Model files: skops bytes in content-addressed blocks, loaded only through a trusted-type allow-list.

A model is stored as raw blocks of at most :data:`~mlbridge.config.CHUNK_BYTES`
under one DAG-CBOR index block, whose CID names the model::

    {v: 1, type: 'model', format: 'skops', size: <bytes>, chunks: [<tag-42 links to raw blocks>]}

The skops file is made canonical before it is stored: skops names its array
files and memo ids after ``id()`` of Python objects and stamps zip entries with
the current time, so the same model would get a new CID on every save. We
renumber ids in order of appearance and use a fixed timestamp, which gives the
same bytes (and CID) for the same fitted model — and loads identically.

Loading never unpickles: skops rebuilds objects from its schema, and
:func:`load_model` refuses the file unless every type skops does not trust by
default is in the allow-list (:data:`~mlbridge.config.TRUSTED_TYPES` plus
``trusted=``); the error names the refused types.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterable
from typing import Any

import skops.io as sio

from mlbridge.config import CHUNK_BYTES, MODEL_TYPE, TRUSTED_TYPES
from orbitstore.codec import CID, RAW, block_cid, cid_for, decode, encode
from orbitstore.errors import DecodeError, ModelError, NotFound
from orbitstore.storage.base import Storage

__all__ = ["dumps_model", "load_model", "read_model_bytes", "store_model", "untrusted_types"]

_MODEL_VERSION = 1
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_NUMBERED_FILE = re.compile(r"^(\d+)(\.[A-Za-z0-9]+)$")


def dumps_model(estimator: Any) -> bytes:
    """The estimator as canonical skops bytes (same fitted model → same bytes)."""
    try:
        raw = sio.dumps(estimator)
    except Exception as exc:  # skops raises TypeError/NotImplementedError for unsupported objects
        raise ModelError(f"skops cannot save {type(estimator).__name__}: {exc}") from None
    return _canonical(raw)


def _canonical(raw: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(raw)) as source:
        names = source.namelist()
        if "schema.json" not in names:
            return raw
        schema = json.loads(source.read("schema.json"))
        ids: dict[int, int] = {}
        _renumber(schema, ids)
        renamed: dict[str, str] = {}
        for name in names:
            match = _NUMBERED_FILE.match(name)
            if match is not None and int(match.group(1)) in ids:
                renamed[name] = f"{ids[int(match.group(1))]}{match.group(2)}"
            elif name != "schema.json":
                renamed[name] = name
        _rename_files(schema, renamed)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as target:
            for old, new in sorted(renamed.items(), key=lambda kv: kv[1]):
                target.writestr(zipfile.ZipInfo(new, _FIXED_TIME), source.read(old))
            body = json.dumps(schema, indent=2).encode("utf-8")
            target.writestr(zipfile.ZipInfo("schema.json", _FIXED_TIME), body)
    return out.getvalue()


def _renumber(node: Any, ids: dict[int, int]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "__id__" and isinstance(value, int):
                node[key] = ids.setdefault(value, len(ids))
            else:
                _renumber(value, ids)
    elif isinstance(node, list):
        for item in node:
            _renumber(item, ids)


def _rename_files(node: Any, renamed: dict[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "file" and isinstance(value, str) and value in renamed:
                node[key] = renamed[value]
            else:
                _rename_files(value, renamed)
    elif isinstance(node, list):
        for item in node:
            _rename_files(item, renamed)


def untrusted_types(data: bytes) -> list[str]:
    """The types in a skops file that skops does not trust by default (sorted)."""
    try:
        return sorted(sio.get_untrusted_types(data=data))
    except Exception as exc:  # a corrupt or foreign file
        raise ModelError(f"not a readable skops file: {type(exc).__name__}: {exc}") from None


def load_model(data: bytes, *, trusted: Iterable[str] = ()) -> Any:
    """Load skops bytes; :class:`~orbitstore.errors.ModelError` if a type is outside the allow-list.

    The allow-list is :data:`~mlbridge.config.TRUSTED_TYPES` plus ``trusted``
    (fully qualified type names, as :func:`untrusted_types` prints them).
    """
    allowed = TRUSTED_TYPES | frozenset(trusted)
    found = untrusted_types(data)
    refused = [t for t in found if t not in allowed]
    if refused:
        raise ModelError(
            f"the model file holds types outside the trusted allow-list: {', '.join(refused)} "
            "(pass trusted=[...] only if you trust where the file came from)"
        )
    try:
        return sio.loads(data, trusted=found)
    except Exception as exc:
        raise ModelError(f"skops could not load the model: {type(exc).__name__}: {exc}") from None


async def store_model(blocks: Storage, data: bytes, *, chunk_bytes: int = CHUNK_BYTES) -> str:
    """Store model bytes as raw chunks under an index block; returns the index block's CID."""
    if chunk_bytes < 1:
        raise ModelError("chunk_bytes must be positive")
    links: list[CID] = []
    for start in range(0, max(len(data), 1), chunk_bytes):
        piece = data[start : start + chunk_bytes]
        link = cid_for(piece, codec=RAW)
        await blocks.put(str(link), piece)
        links.append(link)
    index = encode({"v": _MODEL_VERSION, "type": MODEL_TYPE, "format": "skops", "size": len(data), "chunks": links})
    key = block_cid(index)
    await blocks.put(key, index)
    await blocks.sync()
    return key


async def read_model_index(blocks: Storage, cid: str) -> dict[str, Any]:
    """The model index block ``cid``, checked (hash, shape); :class:`NotFound` or :class:`ModelError`."""
    block = await blocks.get(cid)
    if block is None:
        raise NotFound(f"model {cid} is not in the block store")
    if block_cid(block) != cid:
        raise ModelError(f"model index block does not hash to {cid}")
    try:
        value = decode(block)
    except DecodeError as exc:
        raise ModelError(f"model index {cid} is not DAG-CBOR: {exc}") from None
    if (
        not isinstance(value, dict)
        or value.get("type") != MODEL_TYPE
        or value.get("v") != _MODEL_VERSION
        or value.get("format") != "skops"
        or not isinstance(value.get("chunks"), list)
        or not all(isinstance(c, CID) for c in value["chunks"])
        or type(value.get("size")) is not int
    ):
        raise ModelError(f"block {cid} is not a model index {{v: 1, type: 'model', format: 'skops', …}}")
    return value


async def read_model_bytes(blocks: Storage, cid: str) -> bytes:
    """The model file named by index ``cid``, every chunk checked against its link."""
    index = await read_model_index(blocks, cid)
    parts = []
    for link in index["chunks"]:
        piece = await blocks.get(str(link))
        if piece is None:
            raise NotFound(f"model {cid}: chunk {link} is not in the block store")
        if not link.verify(piece):
            raise ModelError(f"model {cid}: chunk {link} does not hash to its link (corrupted)")
        parts.append(piece)
    data = b"".join(parts)
    if len(data) != index["size"]:
        raise ModelError(f"model {cid}: {len(data)} bytes in its chunks, the index says {index['size']}")
    return data
