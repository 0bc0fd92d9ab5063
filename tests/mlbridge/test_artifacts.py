"""Model files: canonical skops bytes, chunked blocks, the trusted-type allow-list, never pickle."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.neighbors import KNeighborsClassifier

import mlbridge
from mlbridge._wire import fitted_hash, params_to_wire
from mlbridge.artifacts import read_model_index
from orbitstore.codec import CID, RAW, decode
from orbitstore.errors import ModelError, NotFound
from orbitstore.storage import MemoryStorage
from orbitstore.store import OrbitStore
from tests.mlbridge.conftest import Table


def city_block(a: np.ndarray, b: np.ndarray) -> float:
    """A user-defined metric: a function skops must not import from a model file unless trusted."""
    return float(np.abs(a - b).sum())


def fitted_forest(seed: int = 0) -> RandomForestClassifier:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 5))
    return RandomForestClassifier(n_estimators=8, random_state=seed).fit(X, X[:, 0] > 0)


async def test_canonical_bytes_chunked_blocks_and_round_trip() -> None:
    forest = fitted_forest()
    data = mlbridge.dumps_model(forest)
    assert data == mlbridge.dumps_model(fitted_forest())  # same fit, same bytes
    assert data != mlbridge.dumps_model(fitted_forest(seed=1))
    blocks = MemoryStorage()
    cid = await mlbridge.store_model(blocks, data, chunk_bytes=10_000)
    index = await read_model_index(blocks, cid)
    assert index["size"] == len(data) and len(index["chunks"]) == -(-len(data) // 10_000)
    assert all(isinstance(link, CID) and link.codec == RAW for link in index["chunks"])
    assert decode((await blocks.get(cid)) or b"")["format"] == "skops"
    assert await mlbridge.read_model_bytes(blocks, cid) == data
    loaded = mlbridge.load_model(data)
    assert fitted_hash(loaded) == fitted_hash(forest)
    assert mlbridge.untrusted_types(data) == ["sklearn.tree._tree.Tree"]  # trusted through the allow-list

    first = index["chunks"][1]
    piece = (await blocks.get(str(first))) or b""
    await blocks.put(str(first), bytes([piece[0] ^ 0xFF]) + piece[1:])
    with pytest.raises(ModelError, match="does not hash to its link"):
        await mlbridge.read_model_bytes(blocks, cid)
    await blocks.delete(str(first))
    with pytest.raises(NotFound):
        await mlbridge.read_model_bytes(blocks, cid)


def test_untrusted_types_are_refused_by_name() -> None:
    X = np.arange(40, dtype=float).reshape(20, 2)
    model = KNeighborsClassifier(n_neighbors=3, metric=city_block, algorithm="brute").fit(X, X[:, 0] > 10)
    data = mlbridge.dumps_model(model)
    with pytest.raises(ModelError, match=r"tests\.mlbridge\.test_artifacts\.city_block"):
        mlbridge.load_model(data)
    # Trusting it explicitly is the caller's decision, and works.
    loaded = mlbridge.load_model(data, trusted=["tests.mlbridge.test_artifacts.city_block"])
    assert loaded.predict(X[:2]).tolist() == model.predict(X[:2]).tolist()


def test_pickles_and_garbage_are_not_model_files() -> None:
    with pytest.raises(ModelError, match="not a readable skops file"):
        mlbridge.load_model(pickle.dumps(fitted_forest()))
    with pytest.raises(ModelError):
        mlbridge.load_model(b"PK\x03\x04 not really a zip")


async def test_untrusted_model_block_is_refused_when_predicting(store: OrbitStore, cancer: Table) -> None:
    result = await mlbridge.train(cancer.snapshot, store=store, estimator="gaussian_nb", cv=0, register=False)
    X = np.arange(40, dtype=float).reshape(20, 2)
    rogue = KNeighborsClassifier(n_neighbors=3, metric=city_block, algorithm="brute").fit(X, X[:, 0] > 10)
    rogue_cid = await mlbridge.store_model(store.blocks, mlbridge.dumps_model(rogue))
    from dataclasses import replace

    card = await replace(result.card, model=rogue_cid).signed(store)
    await store.blocks.put(card.cid, card.encode())
    with pytest.raises(ModelError, match="outside the trusted allow-list"):
        await mlbridge.predict(card.cid, [{}], store=store)


def test_params_are_dag_cbor_safe_and_faithful() -> None:
    wire = params_to_wire({"max_features": 1.0, "alpha": 0.5, "tol": float("inf"), "n": 3, "shape": (1, 2)})
    assert wire == {"max_features": {"$float": "1.0"}, "alpha": 0.5, "tol": {"$float": "inf"}, "n": 3, "shape": [1, 2]}
    nested = params_to_wire({"estimator": KNeighborsClassifier(n_neighbors=4), "metric": city_block})
    assert nested["estimator"]["$estimator"].endswith("KNeighborsClassifier")
    assert nested["estimator"]["params"]["n_neighbors"] == 4
    assert nested["metric"] == {"$type": "tests.mlbridge.test_artifacts.city_block"}
