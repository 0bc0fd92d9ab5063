"""The one table that maps every orbitstore error to an HTTP status, and back.

The API's own errors (:class:`~orbitstore.errors.InvalidRequest`,
:class:`~orbitstore.errors.PayloadTooLarge`, :class:`~orbitstore.errors.NotAvailable`,
:class:`~orbitstore.errors.Unauthorized`) live in :mod:`orbitstore.errors`, in
the one error tree, and are re-exported here. :func:`status_for` is used by
the daemon's error middleware; :func:`error_from_wire` lets the HTTP client
raise the same class the in-process API raises.
"""

from __future__ import annotations

from orbitstore import errors as _errors
from orbitstore.errors import InvalidRequest, NotAvailable, OrbitStoreError, PayloadTooLarge, Unauthorized

__all__ = [
    "InvalidRequest",
    "NotAvailable",
    "PayloadTooLarge",
    "Unauthorized",
    "error_from_wire",
    "status_for",
]


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
            403: _errors.AccessDenied,
            404: _errors.NotFound,
            413: PayloadTooLarge,
            422: InvalidRequest,
            429: _errors.PeerBudgetExceeded,
        }.get(status, OrbitStoreError)
    return kind(message)
