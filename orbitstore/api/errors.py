"""Errors of the API layer, and the one table that maps every orbitstore error to an HTTP status.

The API adds four errors to :mod:`orbitstore.errors` (they sit under
:class:`~orbitstore.errors.OrbitStoreError` like every other)::

    OrbitStoreError
    ├── InvalidRequest (ValueError)        a request is malformed: wrong type, missing field, bad JSON
    │   └── PayloadTooLarge                 a body over the daemon's size limit
    ├── NotAvailable (NotImplementedError)  the part behind this call has not landed yet (dataset, sync, …)
    └── AccessDenied
        └── Unauthorized                    no bearer token, or the wrong one

:func:`status_for` is used by the daemon's error middleware; :func:`error_from_wire`
lets the HTTP client raise the same class the in-process API raises.
"""

from __future__ import annotations

from orbitstore import errors as _errors
from orbitstore.errors import AccessDenied, OrbitStoreError

__all__ = [
    "InvalidRequest",
    "NotAvailable",
    "PayloadTooLarge",
    "Unauthorized",
    "error_from_wire",
    "status_for",
]


class InvalidRequest(OrbitStoreError, ValueError):
    """A request is malformed: bad JSON, a field of the wrong type, a missing field."""


class PayloadTooLarge(InvalidRequest):
    """A request body is larger than the daemon accepts."""


class NotAvailable(OrbitStoreError, NotImplementedError):
    """The part of orbitstore behind this call has not landed yet; ``part`` names it."""

    def __init__(self, part: str, detail: str = "") -> None:
        self.part = part
        message = f"not available yet: {part}"
        if detail:
            message = f"{message} ({detail})"
        super().__init__(message)


class Unauthorized(AccessDenied):
    """The request carries no bearer token, or the wrong one."""


# Most specific first: the first class an error is an instance of decides its status.
_STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (Unauthorized, 401),
    (PayloadTooLarge, 413),
    (NotAvailable, 501),
    (InvalidRequest, 400),
    (_errors.NotFound, 404),
    (_errors.AccessDenied, 403),
    (_errors.PeerBudgetExceeded, 429),
    (_errors.SchemaError, 422),
    (_errors.EncodeError, 422),
    (_errors.DecodeError, 400),
    (_errors.ConfigError, 400),
    (_errors.ReceiptInvalid, 422),
    (_errors.VerifyError, 422),
    (_errors.DatabaseError, 409),
    (_errors.LogError, 409),
    (_errors.StorageTimeout, 504),
    (_errors.StorageError, 503),
    (_errors.KuboError, 502),
    (_errors.SyncError, 502),
    (_errors.AnchorError, 502),
    (_errors.ModelError, 422),
    (_errors.EncryptionError, 400),
    (ValueError, 400),
    (OrbitStoreError, 500),
)


def status_for(error: BaseException) -> int:
    """The HTTP status for ``error`` (500 for anything orbitstore did not raise on purpose)."""
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500


def _known() -> dict[str, type[OrbitStoreError]]:
    known: dict[str, type[OrbitStoreError]] = {}
    for name in _errors.__all__:
        kind = getattr(_errors, name)
        if isinstance(kind, type) and issubclass(kind, OrbitStoreError):
            known[name] = kind
    for kind in (InvalidRequest, PayloadTooLarge, Unauthorized):
        known[kind.__name__] = kind
    return known


def error_from_wire(name: str, message: str, *, status: int, part: str | None = None) -> OrbitStoreError:
    """Rebuild the error a daemon reported as ``{"error": name, "message": message}``.

    Unknown names fall back on the class the status implies, so a client never
    raises something vaguer than the daemon meant.
    """
    if name == "NotAvailable" or status == 501:
        error = NotAvailable(part or "unknown")
        error.args = (message,)
        return error
    kind = _known().get(name)
    if kind is None:
        kind = {
            400: InvalidRequest,
            401: Unauthorized,
            403: AccessDenied,
            404: _errors.NotFound,
            413: PayloadTooLarge,
            422: InvalidRequest,
            429: _errors.PeerBudgetExceeded,
        }.get(status, OrbitStoreError)
    return kind(message)
