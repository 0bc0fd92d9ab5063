"""Database types over the log: OrbitDB's events, keyvalue and documents, and the dataset type."""

from orbitstore.databases.base import Database, Update
from orbitstore.databases.documents import Documents
from orbitstore.databases.events import Events
from orbitstore.databases.keyvalue import KeyValue
from orbitstore.databases.manifest import Address, Manifest

__all__ = ["Address", "Database", "Documents", "Events", "KeyValue", "Manifest", "Update"]
