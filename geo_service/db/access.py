"""Access keys in the database, and the one rule that says which layers a principal may read.

`visible(principal)` is the only place that rule is written: every lookup of a layer (features,
tiles, TileJSON, exports, analyses, screening, search, the embed page, jobs) adds its SQL, so a
layer a caller may not read does not exist for that caller on any channel.

    >>> secret, key = create_key(session, "partner-x", Role.viewer, origins=["https://x.org"])  # doctest: +SKIP
    >>> authenticate(session.connection(), secret).name  # doctest: +SKIP
    'partner-x'
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from typing import Any

from sqlalchemy import Connection, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geo_service.db.models import ApiKey
from geo_service.domain.access import Principal, Role
from geo_service.errors import Conflict, InvalidInput, NotFound, Unauthorized
from geo_service.problems import msg

KEY_PREFIX = "gs_"
# People's and organisations' names as they are written: "Awa Traoré", "N'Diaye & fils".
NAME = re.compile(r"\w[\w .,'&@()-]{0,62}")
_USED_EVERY = 60.0  # seconds between two writes of a key's last_used_at
_last_used: dict[int, float] = {}
_last_used_lock = threading.Lock()


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def visible(
    principal: Principal, alias: str = "l", driver: bool = False
) -> tuple[str, dict[str, Any]]:
    """SQL (on layers `alias`) true for the layers `principal` may read, and its parameters
    (`:name` placeholders for SQLAlchemy's text(), `%(name)s` ones with `driver` for
    exec_driver_sql).

    Public layers are for everyone; internal ones for any key; private ones for admins, their
    owner, and the keys and groups they are shared with. A key limited to some layers sees no
    other, whatever their visibility.
    """

    def p(name: str) -> str:
        return f"%({name})s" if driver else f":{name}"

    a = alias
    clauses = [f"{a}.visibility = 'public'"]
    params: dict[str, Any] = {}
    if principal.is_admin:
        clauses = ["TRUE"]
    elif principal.authenticated:
        clauses += [
            f"{a}.visibility = 'internal'",
            f"({a}.visibility = 'private' AND ({a}.owner = {p('acc_name')}"
            f" OR {p('acc_name')} = ANY({a}.shared_with)"
            f" OR {a}.shared_groups && CAST({p('acc_groups')} AS text[])))",
        ]
        params = {"acc_name": principal.name, "acc_groups": list(principal.groups)}
    sql = "(" + " OR ".join(clauses) + ")"
    if principal.layers is not None:
        sql = f"({sql} AND {a}.slug = ANY(CAST({p('acc_layers')} AS text[])))"
        params["acc_layers"] = sorted(principal.layers)
    return sql, params


# -- keys ---------------------------------------------------------------------------------------


def _check_name(name: str) -> str:
    if not NAME.fullmatch(name or ""):
        raise InvalidInput(msg("key.name"), where={"name": name})
    return name


def create_key(
    session: Session,
    name: str,
    role: Role | str,
    *,
    groups: list[str] | None = None,
    layers: list[str] | None = None,
    origins: list[str] | None = None,
    tiles_only: bool = False,
    created_by: str | None = None,
) -> tuple[str, ApiKey]:
    """A new key; returns its secret (shown once, never stored) and its record."""
    try:
        role = Role(role)
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise InvalidInput(
            msg("key.unknown_role", role=role, roles=roles), where={"role": role}
        ) from None
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=_check_name(name),
        role=role.value,
        key_hash=hash_key(secret),
        prefix=secret[:10],
        groups=sorted(set(groups or [])),
        layers=sorted(set(layers)) if layers else None,
        origins=[_origin(o) for o in origins] if origins else None,
        tiles_only=tiles_only,
        created_by=created_by,
    )
    session.add(key)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(msg("key.exists", name=name), where={"name": name}) from None
    return secret, key


def _origin(value: str) -> str:
    value = value.strip().rstrip("/")
    if not re.fullmatch(r"https?://[^/\s]+", value):
        raise InvalidInput(msg("key.origin", origin=value), where={"origin": value})
    return value.lower()


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)))


def revoke_key(session: Session, name: str) -> ApiKey:
    key = session.scalar(select(ApiKey).where(ApiKey.name == name))
    if key is None:
        raise NotFound(msg("key.unknown", name=name), where={"name": name})
    if key.revoked_at is None:
        session.execute(
            text("UPDATE api_keys SET revoked_at = now() WHERE id = :id"), {"id": key.id}
        )
        session.refresh(key)
    return key


def describe(key: ApiKey) -> dict[str, Any]:
    return {
        "name": key.name,
        "role": key.role,
        "prefix": key.prefix,
        "groups": key.groups,
        "layers": key.layers,
        "origins": key.origins,
        "tiles_only": key.tiles_only,
        "created_at": key.created_at.isoformat() if key.created_at else None,
        "created_by": key.created_by,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
    }


_AUTHENTICATE = """
SELECT id, name, role, groups, layers, origins, tiles_only
  FROM api_keys WHERE key_hash = %(hash)s AND revoked_at IS NULL
"""


def authenticate(conn: Connection, secret: str) -> Principal:
    """The principal of a key's secret; Unauthorized for an unknown or revoked key."""
    row = conn.exec_driver_sql(_AUTHENTICATE, {"hash": hash_key(secret.strip())}).first()
    if row is None:
        raise Unauthorized(msg("key.refused"))
    key_id, name, role, groups, layers, origins, tiles_only = row
    _note_use(conn, key_id)
    return Principal(
        name=name,
        role=Role(role),
        groups=tuple(groups or ()),
        layers=frozenset(layers) if layers is not None else None,
        origins=tuple(origins) if origins is not None else None,
        tiles_only=bool(tiles_only),
    )


def _note_use(conn: Connection, key_id: int) -> None:
    """Record when a key was last used, at most once a minute per key and process."""
    now = time.monotonic()
    with _last_used_lock:
        if now - _last_used.get(key_id, -_USED_EVERY) < _USED_EVERY:
            return
        _last_used[key_id] = now
    conn.exec_driver_sql(
        "UPDATE api_keys SET last_used_at = now() WHERE id = %(id)s", {"id": key_id}
    )
