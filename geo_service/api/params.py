"""Strict query parameters: one the resource does not know is a 400 problem that names it
(OGC API Features Part 1, /req/core/query-param-unknown), never a silently empty answer.

What a route knows is what it declares (FastAPI's own parameters, so OpenAPI lists the same),
plus `lang` (the language of problems) and an access key sent in the URL. Routes that filter
on properties by name (items, vector tiles) check the rest against the layer's queryables
themselves (`check_properties`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from geo_service.api.deps import QUERY_KEYS
from geo_service.store.cql2 import GEOMETRY_NAMES
from geo_service.store.queryables import unknown_parameters

ALWAYS = frozenset({"lang", *QUERY_KEYS})
_OPEN: set[Callable[..., Any]] = set()
_KNOWN: dict[int, frozenset[str]] = {}
F = TypeVar("F", bound=Callable[..., Any])


def filters_on_properties(endpoint: F) -> F:
    """Mark an endpoint that takes `property=value` filters: it checks its own parameters."""
    _OPEN.add(endpoint)
    return endpoint


def declared(route: APIRoute) -> frozenset[str]:
    """The query parameters `route` declares, and those every route takes."""
    known = _KNOWN.get(id(route))
    if known is None:
        known = frozenset(set(_query_names(route.dependant)) | ALWAYS)
        _KNOWN[id(route)] = known
    return known


def _query_names(dependant: Dependant) -> Iterable[str]:
    yield from (param.alias for param in dependant.query_params)
    for sub in dependant.dependencies:
        yield from _query_names(sub)


def check_query(request: Request) -> None:
    """A dependency of every route: 400 on a query parameter the route does not know."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or route.endpoint in _OPEN:
        return
    known = declared(route)
    unknown = [name for name in request.query_params if name not in known]
    if unknown:
        raise unknown_parameters(unknown, known - ALWAYS)


def check_properties(
    request: Request, queryables: Iterable[str], reserved: Iterable[str] = ()
) -> dict[str, str]:
    """The `property=value` filters of an open route: every parameter that is neither
    declared by it nor in `reserved` must name a queryable, else 400 naming it."""
    route = request.scope.get("route")
    known = declared(route) if isinstance(route, APIRoute) else ALWAYS
    known = known | frozenset(reserved)
    allowed = set(queryables) - set(GEOMETRY_NAMES)  # a geometry is filtered by bbox or filter
    filters = {k: v for k, v in request.query_params.items() if k not in known}
    unknown = [name for name in filters if name not in allowed]
    if unknown:
        raise unknown_parameters(unknown, sorted((known - ALWAYS) | allowed))
    return filters
