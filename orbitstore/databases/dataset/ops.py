"""Dataset operations: the ``{op, key, value}`` payloads of a dataset log, built and parsed.

========= ======================= =================================================== ===========
op        key                     value                                               needs
========= ======================= =================================================== ===========
PUT       record id (text)        link (tag 42) to the record block                   write/admin
PUTS      null                    ``[{id, link}, …]``: many records, one block each   write/admin
DEL       record id               null                                                write/admin
SCHEMA    null                    schema map ``{v, columns, target?}``                admin
GRANT     identity id (or ``*``)  ``{capability}`` (+ fields a capability adds)       admin
REVOKE    identity id (or ``*``)  ``{capability, heads: [links]}`` (+ ``keys``)       admin
ANCHOR    snapshot CID (text)     link to the anchor receipt block                    write/admin
ERASE     record id               ``[links]``: the record's blocks to delete          admin
========= ======================= =================================================== ===========

Capabilities are ``write``, ``admin`` (implies write) and ``read``. A ``REVOKE``
of ``write`` or ``admin`` names the revoked identity's heads it still accepts.

In an encrypted dataset (docs/encryption.md) ``GRANT read`` adds ``reader`` (a
link to the reader's signed X25519 key block), ``keys`` (key envelopes) and,
when it starts a new key epoch, ``rekey: true``; ``REVOKE read`` adds ``keys``
(the new epoch's key for every remaining reader). ``ERASE`` acts as a ``DEL`` and
names every block that held the record in its causal past, which honouring peers
delete.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from orbitstore.codec import CID
from orbitstore.databases.dataset.schema import Schema
from orbitstore.encryption.envelope import Envelope
from orbitstore.errors import CIDError, DatabaseError, DecodeError

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
    "erase_payload",
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
    and ``(id, None)`` for DEL and ERASE; ``subject`` is the identity id of GRANT/REVOKE or the snapshot CID
    of ANCHOR; ``heads`` the accepted heads of a REVOKE (text CIDs). For read access
    in encrypted datasets: ``reader`` is the CID of the grantee's reader-key block,
    ``envelopes`` the key envelopes, ``rekey`` true when a GRANT starts a new key
    epoch. ``erased`` lists the block CIDs an ERASE deletes.
    """

    kind: str
    records: tuple[tuple[str, str | None], ...] = ()
    schema: Schema | None = None
    capability: str = ""
    subject: str = ""
    heads: tuple[str, ...] = ()
    link: CID | None = None
    reader: str | None = None
    envelopes: tuple[Envelope, ...] = ()
    rekey: bool = False
    erased: tuple[str, ...] = ()

    @property
    def control(self) -> bool:
        """True for SCHEMA, GRANT and REVOKE."""
        return self.kind in CONTROL_OPS

    @property
    def needs(self) -> tuple[str, ...]:
        """The capabilities any one of which allows this operation."""
        return _ADMIN_NEEDS if self.kind in CONTROL_OPS or self.kind == ERASE else _DATA_NEEDS

    @property
    def carries_keys(self) -> bool:
        """True for the read-access fields of an encrypted dataset (reader link, envelopes, rekey)."""
        return self.reader is not None or bool(self.envelopes) or self.rekey


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


def _envelopes(value: Any, kind: str) -> tuple[Envelope, ...]:
    if not isinstance(value, list):
        raise DatabaseError(f"{kind} keys must be a list of key envelopes")
    try:
        return tuple(Envelope.from_wire(item) for item in value)
    except DecodeError as exc:
        raise DatabaseError(f"{kind}: {exc}") from None


def _parse_grant(key: Any, value: Any) -> Op:
    capability = _capability(value, GRANT)
    extra = set(value) - {"capability"}
    if not extra:
        return Op(GRANT, capability=capability, subject=_identity_key(key))
    if capability != "read" or extra - {"reader", "keys", "rekey"} or not {"reader", "keys"} <= extra:
        raise DatabaseError("GRANT value is {capability}, or {capability: 'read', reader, keys, rekey?}")
    if "rekey" in value and value["rekey"] is not True:
        raise DatabaseError("GRANT rekey must be true when present")
    return Op(
        GRANT,
        capability=capability,
        subject=_identity_key(key),
        reader=str(_link(value["reader"], "GRANT reader")),
        envelopes=_envelopes(value["keys"], GRANT),
        rekey="rekey" in value,
    )


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
        return _parse_grant(key, value)
    if kind == REVOKE:
        capability = _capability(value, kind)
        heads = value.get("heads", [])
        allowed = {"capability", "heads", "keys"} if capability == "read" else {"capability", "heads"}
        if set(value) - allowed or not isinstance(heads, list):
            raise DatabaseError("REVOKE value must be {capability, heads: [links]} (+ keys for read)")
        texts = tuple(str(_link(h, "REVOKE head")) for h in heads)
        envelopes = _envelopes(value["keys"], kind) if "keys" in value else ()
        rekey = "keys" in value
        return Op(
            REVOKE, capability=capability, subject=_identity_key(key), heads=texts, envelopes=envelopes, rekey=rekey
        )
    if kind == ANCHOR:
        if type(key) is not str:
            raise DatabaseError("ANCHOR key must be a snapshot CID (text)")
        try:
            CID.parse(key)
        except CIDError as exc:
            raise DatabaseError(f"ANCHOR key is not a CID: {exc}") from None
        return Op(ANCHOR, subject=key, link=_link(value, "ANCHOR value"))
    if kind == ERASE:
        if not isinstance(value, list):
            raise DatabaseError("ERASE value must be a list of links to the record's blocks")
        erased = tuple(str(_link(link, "ERASE block")) for link in value)
        if list(erased) != sorted(set(erased)):
            raise DatabaseError("ERASE blocks must be sorted and distinct")
        return Op(ERASE, records=((check_record_id(key), None),), erased=erased)
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


def grant_payload(
    capability: str,
    identity_id: str,
    *,
    reader: str | None = None,
    envelopes: Sequence[Envelope] | None = None,
    rekey: bool = False,
) -> dict[str, Any]:
    """``{op: 'GRANT', key: identity id, value: {capability}}``; read grants of encrypted datasets add
    ``reader`` (link), ``keys`` (envelopes) and ``rekey``."""
    value: dict[str, Any] = {"capability": capability}
    if reader is not None:
        value["keys"] = [e.to_wire() for e in envelopes or ()]
        value["reader"] = CID.parse(reader)
        if rekey:
            value["rekey"] = True
    return {"op": GRANT, "key": identity_id, "value": value}


def revoke_payload(
    capability: str, identity_id: str, heads: Sequence[str], *, envelopes: Sequence[Envelope] | None = None
) -> dict[str, Any]:
    """``{op: 'REVOKE', key: identity id, value: {capability, heads: [links, sorted]}}``; ``keys`` when
    ``envelopes`` is given (a read revoke in an encrypted dataset: the new epoch's envelopes)."""
    links = [CID.parse(h) for h in sorted(heads)]
    value: dict[str, Any] = {"capability": capability, "heads": links}
    if envelopes is not None:
        value["keys"] = [e.to_wire() for e in envelopes]
    return {"op": REVOKE, "key": identity_id, "value": value}


def erase_payload(record_id: str, blocks: Sequence[str]) -> dict[str, Any]:
    """``{op: 'ERASE', key: record id, value: [links to every block of the record, sorted]}``."""
    return {"op": ERASE, "key": record_id, "value": [CID.parse(b) for b in sorted(set(blocks))]}


def anchor_payload(snapshot_cid: str, receipt: CID) -> dict[str, Any]:
    """``{op: 'ANCHOR', key: snapshot CID, value: link to the receipt}``."""
    return {"op": ANCHOR, "key": snapshot_cid, "value": receipt}
