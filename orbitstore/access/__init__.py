"""Access controllers: ``ipfs`` (static), ``orbitdb`` (grant/revoke), ``dataset`` (causal, in the log)."""

from orbitstore.access.base import AccessControllerType, AccessRegistry, split_address
from orbitstore.access.ipfs import IPFSAccessController
from orbitstore.access.orbitdb import OrbitDBAccessController

__all__ = [
    "AccessControllerType",
    "AccessRegistry",
    "IPFSAccessController",
    "OrbitDBAccessController",
    "split_address",
]
