"""The interface of an orbitstore node, shared by the in-process API and the daemon's HTTP client.

::

    from orbitstore.api import open_local

    async with open_local("./data") as api:          # or: DaemonClient(url, token=...)
        info = await api.create("notes", type="events")
        await api.add(info.address, {"text": "hello"})
        print(await api.iterate(info.address))

See :mod:`orbitstore.api.protocol` for the methods and ``docs/http-api.md``.
"""

from orbitstore.api.errors import InvalidRequest, NotAvailable, PayloadTooLarge, Unauthorized, status_for
from orbitstore.api.local import LocalAPI, open_local
from orbitstore.api.models import (
    AccessInfo,
    AnchorInfo,
    Change,
    DatabaseInfo,
    EntryInfo,
    EstimatorInfo,
    ImportResult,
    Item,
    ModelCardInfo,
    ModelInfo,
    NodeInfo,
    Page,
    PeerInfo,
    Predictions,
    ProvenanceCheck,
    ProvenanceReport,
    ReproduceResult,
    SnapshotInfo,
    SyncStatus,
    VerifyResult,
)
from orbitstore.api.protocol import DEFAULT_PAGE_SIZE, FEATURES, MAX_PAGE_SIZE, StoreAPI, Subscription

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "FEATURES",
    "MAX_PAGE_SIZE",
    "AccessInfo",
    "AnchorInfo",
    "Change",
    "DatabaseInfo",
    "EntryInfo",
    "EstimatorInfo",
    "ImportResult",
    "InvalidRequest",
    "Item",
    "LocalAPI",
    "ModelCardInfo",
    "ModelInfo",
    "NodeInfo",
    "NotAvailable",
    "Page",
    "PayloadTooLarge",
    "PeerInfo",
    "Predictions",
    "ProvenanceCheck",
    "ProvenanceReport",
    "ReproduceResult",
    "SnapshotInfo",
    "StoreAPI",
    "Subscription",
    "SyncStatus",
    "Unauthorized",
    "VerifyResult",
    "open_local",
    "status_for",
]
