"""Estimator parameters as DAG-CBOR-safe values, and stable hashes of fitted state.

DAG-CBOR writes integral floats as integers (the JS rule) and has no NaN or
±Infinity, so ``max_features=1.0`` would read back as ``1`` (one feature!). Values
that plain DAG-CBOR cannot carry faithfully are tagged maps:

* ``{"$float": "1.0"}`` / ``{"$float": "inf"}`` — a float that is integral or not finite (``repr``);
* ``{"$estimator": "module.Class", "params": {…}}`` — a nested estimator;
* ``{"$type": "module.name"}`` — a class or function (e.g. ``dtype=numpy.float64``);
* ``{"$repr": "…"}`` — anything else, described (not reconstructable).

Tuples become lists; numpy scalars and arrays become numbers and lists.
"""

from __future__ import annotations

import hashlib
import math
import struct
import types
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["fitted_hash", "params_to_wire", "value_hash", "value_to_wire"]

_MAX_DEPTH = 32
_NAMED = (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType, np.ufunc)


def value_to_wire(value: Any, _depth: int = 0) -> Any:
    """One parameter value as a DAG-CBOR-safe value (see the module doc)."""
    if _depth > _MAX_DEPTH:
        return {"$repr": "…"}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        number = int(value)
        return number if -(2**63) <= number < 2**64 else {"$repr": repr(number)}
    if isinstance(value, (float, np.floating)):
        real = float(value)
        if not math.isfinite(real) or real.is_integer():
            return {"$float": repr(real)}
        return real
    if isinstance(value, bytes):
        return value
    if isinstance(value, Mapping):
        return {str(k): value_to_wire(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [value_to_wire(v, _depth + 1) for v in value]
    if isinstance(value, np.ndarray):
        return [value_to_wire(v, _depth + 1) for v in value.tolist()]
    if hasattr(value, "get_params") and hasattr(value, "fit"):
        cls = type(value)
        return {
            "$estimator": f"{cls.__module__}.{cls.__qualname__}",
            "params": params_to_wire(value.get_params(deep=False), _depth + 1),
        }
    if isinstance(value, type) or callable(value):
        module = getattr(value, "__module__", None) or "?"
        return {"$type": f"{module}.{getattr(value, '__qualname__', type(value).__name__)}"}
    return {"$repr": repr(value)[:200]}


def params_to_wire(params: Mapping[str, Any], _depth: int = 0) -> dict[str, Any]:
    """``get_params(deep=False)`` as a DAG-CBOR-safe map."""
    return {str(k): value_to_wire(v, _depth) for k, v in params.items()}


# -- fitted-state hash ------------------------------------------------------------------------------


def fitted_hash(estimator: Any) -> str:
    """sha256 (hex) of the estimator's fitted state: every attribute, arrays by dtype, shape and bytes.

    Walks ``__getstate__`` (what pickle and skops persist), nested estimators
    and Cython objects (``Tree`` …) alike; ignores ``_sklearn_version``, which
    the card records with the other versions.
    """
    digest = hashlib.sha256()
    _feed(digest, estimator, 0, set())
    return digest.hexdigest()


def value_hash(value: Any) -> str:
    """sha256 (hex) of any value the fitted-state walk understands (arrays, lists, numbers, text…)."""
    digest = hashlib.sha256()
    _feed(digest, value, 0, set())
    return digest.hexdigest()


def _feed(h: Any, value: Any, depth: int, active: set[int]) -> None:
    if depth > 64:
        h.update(b"D")
        return
    if value is None:
        h.update(b"N")
    elif isinstance(value, (bool, np.bool_)):
        h.update(b"T" if value else b"F")
    elif isinstance(value, (int, np.integer)):
        text = str(int(value)).encode()
        h.update(b"I" + struct.pack("<I", len(text)) + text)
    elif isinstance(value, (float, np.floating)):
        h.update(b"R" + struct.pack("<d", float(value)))
    elif isinstance(value, str):
        raw = value.encode("utf-8", "surrogatepass")
        h.update(b"S" + struct.pack("<Q", len(raw)) + raw)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        h.update(b"B" + struct.pack("<Q", len(raw)) + raw)
    elif isinstance(value, np.ndarray):
        _feed_array(h, value, depth, active)
    elif isinstance(value, Mapping):
        items = sorted(((str(k), v) for k, v in value.items()), key=lambda kv: kv[0])
        h.update(b"M" + struct.pack("<Q", len(items)))
        for key, item in items:
            if key == "_sklearn_version":
                continue
            _feed(h, key, depth + 1, active)
            _feed(h, item, depth + 1, active)
    elif isinstance(value, (list, tuple)):
        h.update(b"L" + struct.pack("<Q", len(value)))
        for item in value:
            _feed(h, item, depth + 1, active)
    elif isinstance(value, _NAMED):
        name = f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', repr(value))}"
        _feed(h, "type:" + name, depth + 1, active)
    else:
        if id(value) in active:
            h.update(b"C")
            return
        active.add(id(value))
        cls = type(value)
        _feed(h, f"object:{cls.__module__}.{cls.__qualname__}", depth + 1, active)
        state = _state_of(value)
        _feed(h, state, depth + 1, active)
        active.discard(id(value))


def _state_of(value: Any) -> Any:
    if isinstance(value, np.random.RandomState):
        return value.get_state(legacy=False)
    if isinstance(value, np.random.Generator):
        return value.bit_generator.state
    getstate = getattr(value, "__getstate__", None)
    if getstate is not None:
        try:
            state = getstate()
        except TypeError:
            state = None
        if state is not None:
            return state
    reduce = getattr(value, "__reduce__", None)
    if reduce is not None:
        try:
            reduced = reduce()
        except TypeError:
            return repr(value)
        if isinstance(reduced, tuple):
            return list(reduced[1:3]) if len(reduced) > 1 else []
    return repr(value)


def _feed_array(h: Any, array: np.ndarray, depth: int, active: set[int]) -> None:
    h.update(b"A" + repr(array.dtype.descr if array.dtype.fields else array.dtype.str).encode())
    h.update(struct.pack("<Q", array.ndim) + b"".join(struct.pack("<Q", n) for n in array.shape))
    if array.dtype.names:  # structured (e.g. a Tree's nodes): field by field, never the padding bytes
        for name in array.dtype.names:
            _feed(h, name, depth + 1, active)
            _feed_array(h, np.ascontiguousarray(array[name]), depth + 1, active)
    elif array.dtype.hasobject:
        for item in array.ravel(order="C").tolist():
            _feed(h, item, depth + 1, active)
    else:
        h.update(np.ascontiguousarray(array).tobytes())
