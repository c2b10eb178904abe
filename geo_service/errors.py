"""Domain errors, raised deep inside and mapped once to HTTP problem details in api/errors.py."""

from __future__ import annotations

from typing import Any


class GeoServiceError(Exception):
    """Base of every error a user can cause; `detail` says what and `where` says where."""

    title = "Request cannot be processed"

    def __init__(
        self,
        detail: str,
        *,
        where: Any = None,
        errors: list[Any] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.where = where
        self.errors = errors or []
        self.extra = extra or {}  # more members of the problem body (RFC 9457 extensions)
        self.headers = headers or {}


class InvalidInput(GeoServiceError):
    title = "Invalid input"


class InvalidGeometry(InvalidInput):
    title = "Invalid geometry"


class InvalidAttributes(InvalidInput):
    title = "Attributes do not fit the layer's kind"


class InvalidCRS(InvalidInput):
    title = "Unknown or unusable coordinate reference system"


class UnsupportedFormat(InvalidInput):
    title = "Unsupported file format"


class BrokenFile(InvalidInput):
    title = "The file cannot be read"


class PayloadTooLarge(GeoServiceError):
    title = "Upload too large"


class NotFound(GeoServiceError):
    title = "Not found"


class UnknownLayer(NotFound):
    title = "Unknown layer"


class UnknownFeature(NotFound):
    title = "Unknown feature"


class Conflict(GeoServiceError):
    title = "Conflict"


class PreconditionFailed(GeoServiceError):
    title = "Precondition failed"


class Unauthorized(GeoServiceError):
    title = "Access key needed"

    def __init__(self, detail: str, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.headers.setdefault("WWW-Authenticate", 'Bearer realm="geo-service"')


class Forbidden(GeoServiceError):
    title = "Forbidden"


class TooManyRequests(GeoServiceError):
    title = "Too many requests"


class DatabaseUnavailable(GeoServiceError):
    title = "Database unavailable"
