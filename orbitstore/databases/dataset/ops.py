"""Dataset operations: the ``{op, key, value}`` payloads of a dataset log, built and parsed.

========= ======================= =================================================== ===========
op        key                     value                                               needs
========= ======================= =================================================== ===========
PUT       record id (text)        link (tag 42) to the record block                   write/admin
PUTS      null                    ``[{id, link}, …]``: many records, one block each   write/admin
DEL       record id               null                                                write/admin
SCHEMA    null                    schema map ``{v, columns, target?}``                admin
GRANT     identity id (or ``*``)  ``{capability}`` (+ fields a capability adds)       admin
REVOKE    identity id (or ``*``)  ``{capability, heads: [links]}``                    admin
ANCHOR    snapshot CID (text)     link to the anchor receipt block                    write/admin
ERASE     record id               reserved (read-access issue): refused for now       —
========= ======================= =================================================== ===========

Capabilities are ``write``, ``admin`` (implies write) and ``read``. A ``REVOKE``
of ``write`` or ``admin`` names the revoked identity's heads it still accepts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from orbitstore.codec import CID
from orbitstore.databases.dataset.schema import Schema
from orbitstore.errors import CIDError, DatabaseError

__all__ = [
    "ANCHOR",
    "CAPABILITIES",
    "CONTROL_OPS",
    "DEL",
    "ERASE",
    "GRANT",
    "MAX_RECORD_ID",
    "PUT",
    "PUTS",
    "REVOKE",
    "SCHEMA",
    "Op",
    "anchor_payload",
    "check_record_id",
    "del_payload",
    "grant_payload",
    "parse_op",
    "put_payload",
    "puts_payload",
    "revoke_payload",
    "schema_payload",
]

PUT, PUTS, DEL, SCHEMA, GRANT, REVOKE, ANCHOR, ERASE = (
    "PUT",
    "PUTS",
    "DEL",
    "SCHEMA",
    "GRANT",
    "REVOKE",
    "ANCHOR",
    "ERASE",
)
CAPABILITIES = ("write", "admin", "read")
#: Operations that change the access or schema state (evaluated in causal order).
CONTROL_OPS = frozenset((SCHEMA, GRANT, REVOKE))
MAX_RECORD_ID = 1024

_DATA_NEEDS = ("write", "admin")
_ADMIN_NEEDS = ("admin",)


@dataclass(frozen=True, slots=True)
class Op:
    """A parsed dataset operation.

    ``records`` holds ``(record id, record block CID text)`` pairs for PUT/PUTS
    and ``(id, None)`` for DEL; ``subject`` is the identity id of GRANT/REVOKE or the snapshot CID
    of ANCHOR; ``heads`` the accepted heads of a REVOKE (text CIDs).
    """

    kind: str
    records: tuple[tuple[str, str | None], ...] = ()
    schema: Schema | None = None
    capability: str = ""
    subject: str = ""
    heads: tuple[str, ...] = ()
    link: CID | None = None

    @property
    def control(self) -> bool:
        """True for SCHEMA, GRANT and REVOKE."""
        return self.kind in CONTROL_OPS

    @property
    def needs(self) -> tuple[str, ...]:
        """The capabilities any one of which allows this operation."""
        return _ADMIN_NEEDS if self.kind in CONTROL_OPS else _DATA_NEEDS


def check_record_id(record_id: Any) -> str:
    """A record id is non-empty text of at most :data:`MAX_RECORD_ID` characters."""
    if type(record_id) is not str or not record_id or len(record_id) > MAX_RECORD_ID:
        raise DatabaseError(f"a record id must be non-empty text of at most {MAX_RECORD_ID} characters")
    return record_id


def _identity_key(key: Any) -> str:
    if type(key) is not str or not key:
        raise DatabaseError("GRANT/REVOKE key must be an identity id (text)")
    return key


def _capability(value: Any, kind: str) -> str:
    if not isinstance(value, dict) or value.get("capability") not in CAPABILITIES:
        raise DatabaseError(f"{kind} value must be a map whose capability is one of {', '.join(CAPABILITIES)}")
    return str(value["capability"])


def _link(value: Any, what: str) -> CID:
    if type(value) is not CID:
        raise DatabaseError(f"{what} must be a link (tag 42)")
    return value


def parse_op(payload: Any) -> Op:
    """Parse and check an entry payload; :class:`DatabaseError` (or ``SchemaError``) names what is wrong."""
    if not isinstance(payload, dict) or set(payload) != {"op", "key", "value"}:
        raise DatabaseError("a dataset payload must be a map of op, key and value")
    kind, key, value = payload["op"], payload["key"], payload["value"]
    if kind == PUT:
        return Op(PUT, records=((check_record_id(key), str(_link(value, "PUT value"))),))
    if kind == PUTS:
        if key is not None or not isinstance(value, list) or not value:
            raise DatabaseError("PUTS needs a null key and a non-empty list of {id, link}")
        pairs: list[tuple[str, str | None]] = []
        for item in value:
            if not isinstance(item, dict) or set(item) != {"id", "link"}:
                raise DatabaseError("each PUTS item must be a map of id and link")
            pairs.append((check_record_id(item["id"]), str(_link(item["link"], "PUTS link"))))
        return Op(PUTS, records=tuple(pairs))
    if kind == DEL:
        if value is not None:
            raise DatabaseError("DEL value must be null")
        return Op(DEL, records=((check_record_id(key), None),))
    if kind == SCHEMA:
        if key is not None:
            raise DatabaseError("SCHEMA key must be null")
        return Op(SCHEMA, schema=Schema.from_wire(value))
    if kind == GRANT:
        return Op(GRANT, capability=_capability(value, kind), subject=_identity_key(key))
    if kind == REVOKE:
        capability = _capability(value, kind)
        heads = value.get("heads", [])
        if set(value) - {"capability", "heads"} or not isinstance(heads, list):
            raise DatabaseError("REVOKE value must be {capability, heads: [links]}")
        texts = tuple(str(_link(h, "REVOKE head")) for h in heads)
        return Op(REVOKE, capability=capability, subject=_identity_key(key), heads=texts)
    if kind == ANCHOR:
        if type(key) is not str:
            raise DatabaseError("ANCHOR key must be a snapshot CID (text)")
        try:
            CID.parse(key)
        except CIDError as exc:
            raise DatabaseError(f"ANCHOR key is not a CID: {exc}") from None
        return Op(ANCHOR, subject=key, link=_link(value, "ANCHOR value"))
    if kind == ERASE:
        raise DatabaseError("ERASE is reserved for record erasure and not supported by this version")
    raise DatabaseError(f"unknown dataset operation {kind!r}")


# -- payload builders -------------------------------------------------------------------------------


def put_payload(record_id: str, link: CID) -> dict[str, Any]:
    """``{op: 'PUT', key: id, value: link}``."""
    return {"op": PUT, "key": record_id, "value": link}


def puts_payload(pairs: Sequence[tuple[str, CID]]) -> dict[str, Any]:
    """``{op: 'PUTS', key: null, value: [{id, link}, …]}``."""
    return {"op": PUTS, "key": None, "value": [{"id": i, "link": link} for i, link in pairs]}


def del_payload(record_id: str) -> dict[str, Any]:
    """``{op: 'DEL', key: id, value: null}``."""
    return {"op": DEL, "key": record_id, "value": None}


def schema_payload(schema: Schema) -> dict[str, Any]:
    """``{op: 'SCHEMA', key: null, value: schema}``."""
    return {"op": SCHEMA, "key": None, "value": schema.to_wire()}


def grant_payload(capability: str, identity_id: str) -> dict[str, Any]:
    """``{op: 'GRANT', key: identity id, value: {capability}}``."""
    return {"op": GRANT, "key": identity_id, "value": {"capability": capability}}


def revoke_payload(capability: str, identity_id: str, heads: Sequence[str]) -> dict[str, Any]:
    """``{op: 'REVOKE', key: identity id, value: {capability, heads: [links, sorted]}}``."""
    links = [CID.parse(h) for h in sorted(heads)]
    return {"op": REVOKE, "key": identity_id, "value": {"capability": capability, "heads": links}}


def anchor_payload(snapshot_cid: str, receipt: CID) -> dict[str, Any]:
    """``{op: 'ANCHOR', key: snapshot CID, value: link to the receipt}``."""
    return {"op": ANCHOR, "key": snapshot_cid, "value": receipt}
