"""Dependencies shared by routers: the database session, the caller, recurring parameters."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from geo_service.db.access import authenticate
from geo_service.domain.access import ANONYMOUS, Principal, Role
from geo_service.errors import Forbidden
from geo_service.problems import msg

# Route tags a tiles-only key may reach: what a partner's map needs, nothing more.
TILE_TAGS = {"tiles", "health"}
QUERY_KEYS = ("key", "access_token")  # for tile URLs, which cannot carry headers


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    """One transaction per request: committed when the endpoint returns, rolled back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def presented_key(request: Request) -> str | None:
    """The key sent as `Authorization: Bearer`, `X-API-Key`, or (GET only) `?key=`."""
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if request.headers.get("x-api-key"):
        return request.headers["x-api-key"].strip()
    if request.method in ("GET", "HEAD"):
        for name in QUERY_KEYS:
            if request.query_params.get(name):
                return request.query_params[name]
    return None


def _origin_of(request: Request) -> str | None:
    origin = request.headers.get("origin")
    if origin and origin != "null":
        return origin.rstrip("/").lower()
    referer = request.headers.get("referer")
    if referer:
        parts = urlsplit(referer)
        if parts.scheme and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}".lower()
    return None


def _check_limits(request: Request, principal: Principal) -> None:
    route = request.scope.get("route")
    tags = set(getattr(route, "tags", None) or ())
    if principal.tiles_only and not tags & TILE_TAGS:
        raise Forbidden(
            msg("access.tiles_only", name=principal.name), where={"path": request.url.path}
        )
    if principal.origins is not None:
        origin = _origin_of(request)
        own = f"{request.url.scheme}://{request.url.netloc}".lower()
        if origin is None or (origin not in principal.origins and origin != own):
            origins = ", ".join(principal.origins)
            raise Forbidden(
                msg("access.origin_not", name=principal.name, origins=origins, origin=origin)
                if origin
                else msg("access.origin", name=principal.name, origins=origins),
                where={"origin": origin},
            )


def get_principal(request: Request, engine: Annotated[Engine, Depends(get_engine)]) -> Principal:
    """Who is calling: the key's principal (checked against its limits), or anonymous."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    secret = presented_key(request)
    principal = ANONYMOUS
    if secret:
        with engine.begin() as conn:
            principal = authenticate(conn, secret)
        _check_limits(request, principal)
    request.state.principal = principal
    return principal


def requires(role: Role, action: str) -> Callable[[Principal], Principal]:
    """A dependency: the caller, if its role is `role` or higher (`action` says for what)."""

    def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        principal.require(role, action)
        return principal

    return dependency


# scope="function": commit before the response is sent, so a client that reads right after a
# write sees it (the default would commit after the response has gone).
DbSession = Annotated[Session, Depends(get_session, scope="function")]
DbEngine = Annotated[Engine, Depends(get_engine)]
Caller = Annotated[Principal, Depends(get_principal)]
Editor = Annotated[Principal, Depends(requires(Role.editor, msg("access.change")))]
Admin = Annotated[Principal, Depends(requires(Role.admin, msg("access.manage")))]
