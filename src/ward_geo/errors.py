"""The ward_geo exception family.

Every error that ward_geo raises on purpose is a :class:`WardGeoError`, which is a
:class:`ValueError`. Each class knows the HTTP status and the stable machine-readable
``code`` that the service answers with, so the API maps errors to responses in one
place and the CLI maps them to exit codes in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ward_geo.io.validation import ValidationReport

__all__ = [
    "WardGeoError",
    "InputError",
    "ParameterError",
    "NotFoundError",
    "ConfigurationError",
    "StoreError",
    "StoreFileChangedError",
    "InsufficientStorageError",
    "RequestTimeoutError",
    "AuthenticationError",
    "PermissionDeniedError",
    "PayloadTooLargeError",
    "UnsupportedMediaTypeError",
    "BusyError",
]


class WardGeoError(ValueError):
    """Base class of every error ward_geo raises on purpose.

    Parameters
    ----------
    message : str
        A sentence a user can act on: what was wrong and what was expected.
    details : dict, optional
        Extra machine-readable context (JSON-serialisable).
    """

    status_code: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON error body used by the service and ``--json`` CLI output."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class InputError(WardGeoError):
    """Input data could not be used; ``report`` lists every problem found.

    Parameters
    ----------
    message : str
        Summary of the problem.
    report : ValidationReport, optional
        The full validation report (every rejected or repaired row).
    """

    status_code = 422
    code = "invalid_input"

    def __init__(
        self,
        message: str,
        *,
        report: ValidationReport | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, details=details)
        self.report = report

    def to_dict(self) -> dict[str, Any]:
        """The error's JSON body, with the validation report when there is one."""
        body = super().to_dict()
        if self.report is not None:
            body["report"] = self.report.to_dict()
        return body


class ParameterError(WardGeoError):
    """A parameter is out of range or inconsistent (for example ``eps <= 0``)."""

    status_code = 422
    code = "invalid_parameter"


class NotFoundError(WardGeoError):
    """A ward, collection, feature or file that was asked for does not exist."""

    status_code = 404
    code = "not_found"


class ConfigurationError(WardGeoError):
    """The configuration is unsafe or inconsistent; the message says which setting."""

    status_code = 500
    code = "configuration_error"


class StoreError(WardGeoError):
    """The incident store is unreachable or refused an operation; nothing was written."""

    status_code = 503
    code = "store_unavailable"


class StoreFileChangedError(StoreError):
    """The store file was deleted, replaced or truncated under the running process.

    Writes are refused until an operator restores the file (the message says where the
    data was rescued to); the service answers 503 and ``/readyz`` reports why.
    """

    status_code = 503
    code = "store_file_changed"


class InsufficientStorageError(StoreError):
    """The disk (store, or the upload spool folder) is full.

    The operation was rolled back and nothing was written.
    """

    status_code = 507
    code = "insufficient_storage"


class RequestTimeoutError(WardGeoError):
    """The client sent the request body too slowly (see ``WARD_GEO_BODY_*_TIMEOUT``)."""

    status_code = 408
    code = "request_timeout"


class AuthenticationError(WardGeoError):
    """No credentials, or credentials that match no key."""

    status_code = 401
    code = "unauthenticated"


class PermissionDeniedError(WardGeoError):
    """Valid credentials whose role does not allow the operation."""

    status_code = 403
    code = "forbidden"


class PayloadTooLargeError(WardGeoError):
    """A request or upload exceeds the configured size bound."""

    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaTypeError(WardGeoError):
    """A request body's content type (or encoding) is not one the endpoint reads."""

    status_code = 415
    code = "unsupported_media_type"


class BusyError(WardGeoError):
    """The service has no room for more work now; retry after ``retry_after_s`` seconds."""

    status_code = 503
    code = "busy"

    def __init__(self, message: str, *, retry_after_s: int = 2, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details=details)
        self.retry_after_s = int(retry_after_s)


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk (or the user's quota) is full.

    That is an ``OSError`` with ``ENOSPC`` or ``EDQUOT``, or SQLite's ``SQLITE_FULL``
    ("database or disk is full").
    """
    import errno
    import sqlite3

    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "database or disk is full" in str(exc)
