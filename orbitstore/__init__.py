"""orbitstore: OrbitDB's data model in Python, byte-compatible with JS OrbitDB, as a dataset store.

::

    import orbitstore

    async with orbitstore.open(directory="./data") as store:
        db = await store.open("notes", type="events")
        await db.add({"text": "hello"})
"""

from orbitstore.errors import OrbitStoreError
from orbitstore.store import OrbitStore, open

__all__ = ["OrbitStore", "OrbitStoreError", "open"]
__version__ = "0.1.0"
