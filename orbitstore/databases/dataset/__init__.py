"""The ``dataset`` database type: schema-checked records, causal access control, snapshots, CSV.

See ``docs/dataset.md`` and ``docs/snapshots.md``.
"""

from orbitstore.databases.dataset.acl import AclState, ControlState
from orbitstore.databases.dataset.dataset import DEFAULT_IMPORT_BATCH, Dataset, Progress
from orbitstore.databases.dataset.index import LiveRecord
from orbitstore.databases.dataset.ops import CAPABILITIES, Op, parse_op
from orbitstore.databases.dataset.records import Record
from orbitstore.databases.dataset.schema import COLUMN_TYPES, Column, Schema
from orbitstore.databases.dataset.snapshot import CHUNK_ROWS, ColumnData, Snapshot, TableChunk, open_snapshot

__all__ = [
    "CAPABILITIES",
    "CHUNK_ROWS",
    "COLUMN_TYPES",
    "DEFAULT_IMPORT_BATCH",
    "AclState",
    "Column",
    "ColumnData",
    "ControlState",
    "Dataset",
    "LiveRecord",
    "Op",
    "Progress",
    "Record",
    "Schema",
    "Snapshot",
    "TableChunk",
    "open_snapshot",
    "parse_op",
]
