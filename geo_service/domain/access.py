"""Who is asking: the principal behind a request (an access key, or nobody) and its roles.

Roles are ordered: a viewer reads what is shared with it, an editor also writes features and
imports files, an admin also manages layers and keys. Nobody (no key) reads public layers only.
A partner key can be narrowed further: to some layers, to some web origins, to tiles only.

    >>> editor = Principal("amina", Role.editor)
    >>> editor.allows(Role.viewer), editor.allows(Role.admin)
    (True, False)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from geo_service.errors import Forbidden, InvalidInput, Unauthorized
from geo_service.problems import msg


class Role(StrEnum):
    viewer = "viewer"
    editor = "editor"
    admin = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {Role.viewer: 1, Role.editor: 2, Role.admin: 3}
VISIBILITIES = ("public", "internal", "private")


@dataclass(frozen=True)
class Principal:
    """An authenticated key (`name`, `role`) or, with no name, an anonymous caller."""

    name: str | None
    role: Role | None = None
    groups: tuple[str, ...] = ()
    layers: frozenset[str] | None = None  # None: no limit beyond visibility
    origins: tuple[str, ...] | None = None  # None: any origin
    tiles_only: bool = False

    @property
    def authenticated(self) -> bool:
        return self.name is not None and self.role is not None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    @property
    def actor(self) -> str:
        """The name written in history and the audit log."""
        return self.name or "anonymous"

    def allows(self, role: Role) -> bool:
        return self.role is not None and self.role.rank >= role.rank

    def require(self, role: Role, action: str = msg("access.this")) -> None:
        """Unauthorized without a key, Forbidden with a key of a lower role; `action` says for
        what the role is needed ("this change", best a message of problems.py)."""
        if not self.authenticated:
            raise Unauthorized(
                msg("access.needs_key", role=str(role), action=action),
                where={"role": str(role)},
            )
        if not self.allows(role):
            raise Forbidden(
                msg(
                    "access.role_too_low",
                    name=self.name,
                    role=str(self.role),
                    needed=str(role),
                    action=action,
                ),
                where={"role": str(self.role), "needs": str(role)},
            )


ANONYMOUS = Principal(None)
# The command line is run by whoever runs the service: it sees and may do everything.
OPERATOR = Principal("operator", Role.admin)


def check_visibility(value: str) -> str:
    if value not in VISIBILITIES:
        raise InvalidInput(
            msg("access.visibility", choices=", ".join(VISIBILITIES)), where={"visibility": value}
        )
    return value
