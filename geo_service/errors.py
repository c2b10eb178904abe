"""Domain errors, raised deep inside and mapped once to HTTP problem details in api/errors.py.

Their `detail` is a message of problems.py (`msg(code, **params)`), which api/errors.py says in
the reader's language; a plain str is said as it is. Each class's `title` is one too.

    >>> error = UnknownLayer(msg("layers.unknown", layers="rivers"), where={"layers": ["rivers"]})
    >>> str(error), error.detail.code
    ('No layer named rivers', 'layers.unknown')
"""

from __future__ import annotations

from typing import Any

from geo_service.problems import msg


class GeoServiceError(Exception):
    """Base of every error a user can cause; `detail` says what and `where` says where."""

    title: str = msg("title.request")

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
    title = msg("title.invalid_input")


class InvalidGeometry(InvalidInput):
    title = msg("title.invalid_geometry")


class InvalidAttributes(InvalidInput):
    title = msg("title.invalid_attributes")


class InvalidCRS(InvalidInput):
    title = msg("title.invalid_crs")


class UnsupportedFormat(InvalidInput):
    title = msg("title.unsupported_format")


class BrokenFile(InvalidInput):
    title = msg("title.broken_file")


class PayloadTooLarge(GeoServiceError):
    title = msg("title.payload_too_large")


class NotFound(GeoServiceError):
    title = msg("title.not_found")


class UnknownLayer(NotFound):
    title = msg("title.unknown_layer")


class UnknownFeature(NotFound):
    title = msg("title.unknown_feature")


class Conflict(GeoServiceError):
    title = msg("title.conflict")


class PreconditionFailed(GeoServiceError):
    title = msg("title.precondition_failed")


class Unauthorized(GeoServiceError):
    title = msg("title.unauthorized")

    def __init__(self, detail: str, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.headers.setdefault("WWW-Authenticate", 'Bearer realm="geo-service"')


class Forbidden(GeoServiceError):
    title = msg("title.forbidden")


class TooManyRequests(GeoServiceError):
    title = msg("title.too_many_requests")


class DatabaseUnavailable(GeoServiceError):
    title = msg("title.database_unavailable")
