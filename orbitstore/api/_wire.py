"""Wire helpers of the API models (private to :mod:`orbitstore.api`)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Self

from orbitstore.api.errors import InvalidRequest

__all__ = ["Flat", "field_of"]


def field_of(wire: Any, name: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(wire, dict) or name not in wire:
        raise InvalidRequest(f"response lacks the field {name!r}")
    value = wire[name]
    if not isinstance(value, kind):
        raise InvalidRequest(f"field {name!r} has the wrong type")
    return value


class Flat:
    """Wire form for flat models: fields of text, numbers, booleans and tuples of text."""

    __slots__ = ()

    def to_wire(self) -> dict[str, Any]:
        """The JSON form."""
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_wire(cls, wire: Any) -> Self:
        """Parse the JSON form."""
        if not isinstance(wire, dict):
            raise InvalidRequest(f"a {cls.__name__} must be an object")
        values: dict[str, Any] = {}
        for f in fields(cls):  # type: ignore[arg-type]
            if f.name in wire:
                value = wire[f.name]
                values[f.name] = tuple(value) if isinstance(value, list) else value
        try:
            return cls(**values)
        except TypeError as exc:
            raise InvalidRequest(f"malformed {cls.__name__}: {exc}") from None
