"""Opening, locking and writing one LMDB environment (private to the embedded store).

Everything here blocks; :mod:`orbitstore.storage.embedded` decides which calls
run inline and which in a worker thread.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

import lmdb

from orbitstore.errors import ConfigError, StorageError
from orbitstore.storage._buffer import WriteBuffer

__all__ = ["DATA_FILE", "grow_map", "open_environment", "write_buffer"]

DATA_FILE = "store.lmdb"
"""The name of the data file inside a store's directory (LMDB adds ``store.lmdb-lock``)."""


def lock_directory(directory: Path) -> int:
    """Take an exclusive ``flock`` on ``directory`` and return its fd, or raise :class:`StorageError`.

    ``flock`` locks belong to an open file description, so a second open in the
    same process conflicts too, which is what LMDB needs: its own ``fcntl``
    locks cannot see a second environment on the same file in one process,
    and closing that second one would silently drop the first one's locks.
    """
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StorageError(
            f"embedded store {str(directory)!r} is already open, in this process or another; "
            "close it first (LMDB allows one environment per file per process)"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_environment(
    directory: Path, *, map_size: int, max_dbs: int, readonly: bool
) -> tuple[Any, int, dict[str, Any]]:
    """Check or create ``directory``, lock it, open LMDB and its sub-databases (~1 ms).

    Returns the environment, the lock's fd and the existing sub-databases'
    handles. Those are opened here, before any commit thread exists: py-lmdb
    opens a lasting handle only in a write transaction, and beginning one later
    on the event loop thread could deadlock against a commit in the worker
    (py-lmdb waits for LMDB's writer lock holding the GIL).
    """
    data_file = directory / DATA_FILE
    if readonly:
        if not data_file.is_file():
            raise ConfigError(f"no embedded store in {str(directory)!r} (no {DATA_FILE}) to open read-only")
    elif directory.exists() and not directory.is_dir():
        raise ConfigError(f"embedded store path {str(directory)!r} is not a directory")
    else:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create {str(directory)!r}: {exc}") from exc
    lock_fd = lock_directory(directory)
    try:
        env = lmdb.open(
            str(data_file),
            subdir=False,
            map_size=map_size,
            max_dbs=max_dbs,
            readonly=readonly,
            sync=True,  # every commit is fsynced, in both durability modes
            metasync=True,
            lock=True,
        )
    except lmdb.Error as exc:
        os.close(lock_fd)
        raise StorageError(f"cannot open embedded store {str(data_file)!r}: {exc}") from exc
    except BaseException:
        os.close(lock_fd)
        raise
    try:
        handles = _open_sub_databases(env, max_dbs)
    except BaseException:
        env.close()
        os.close(lock_fd)
        raise
    return env, lock_fd, handles


def _open_sub_databases(env: Any, max_dbs: int) -> dict[str, Any]:
    """Handles of every named sub-database (their names are the main database's keys)."""
    try:
        with env.begin() as txn:
            names = [bytes(key) for key, _ in txn.cursor()]
        if len(names) > max_dbs:
            raise ConfigError(f"the store holds {len(names)} sub-storages, more than max_dbs={max_dbs}")
        handles: dict[str, Any] = {}
        for raw in names:
            try:
                name = raw.decode("utf-8")
            except UnicodeDecodeError:
                continue  # not one of ours
            handles[name] = env.open_db(raw, create=False)
    except lmdb.Error as exc:
        raise StorageError(f"cannot open the sub-storages of {str(env.path())!r}: {exc}") from exc
    return handles


def write_buffer(env: Any, handles: dict[str, Any], buffer: WriteBuffer) -> tuple[dict[str, Any], bool]:
    """Write ``buffer`` in one transaction, commit and fsync (runs in a worker thread).

    Returns the handles of the sub-databases it created, and whether the map
    was full, in which case nothing was written and the caller grows the map.
    Other LMDB errors propagate; nothing is written then either.
    """
    created: dict[str, Any] = {}
    try:
        with env.begin(write=True) as txn:
            for name, ops in buffer.dbs.items():
                handle = handles.get(name)
                if handle is None:
                    handle = env.open_db(name.encode("utf-8"), txn=txn, create=True)
                    created[name] = handle
                if ops.cleared:
                    txn.drop(handle, delete=False)
                for key in sorted(ops.ops):  # in key order, the B-tree is walked once
                    value = ops.ops[key]
                    if value is None:
                        txn.delete(key, db=handle)
                    else:
                        txn.put(key, value, db=handle)
    except lmdb.MapFullError:
        return {}, True
    return created, False


def grow_map(env: Any) -> int:
    """Double the map size and return it.

    Only call it when no transaction is open in this process: the event loop
    thread holds none between statements, and the worker has finished.
    """
    size = int(env.info()["map_size"])
    try:
        env.set_mapsize(size * 2)
    except lmdb.Error as exc:
        raise StorageError(f"cannot grow the LMDB map past {size} bytes: {exc}") from exc
    return size * 2
