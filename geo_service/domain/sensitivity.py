"""How sensitive a record is, and how far a caller is cleared to see.

Four levels, ordered: public < partner < internal < restricted. A layer and each of its
attributes carry one; a caller below a layer's level sees its locations generalised, and a
caller below an attribute's level does not see that attribute at all.

A caller's clearance comes from its key: nobody (no key) is public, a viewer key partner, an
editor key internal, an admin restricted. A key's groups can raise it: a group named
`clearance:<level>` clears the key to that level.

    >>> from geo_service.domain.access import Principal, Role
    >>> clearance(Principal(None)), clearance(Principal("ngo", Role.viewer))
    (<Level.public: 'public'>, <Level.partner: 'partner'>)
    >>> clearance(Principal("amina", Role.editor, groups=("clearance:restricted",)))
    <Level.restricted: 'restricted'>
"""

from __future__ import annotations

from enum import StrEnum

from geo_service.domain.access import Principal, Role


class Level(StrEnum):
    public = "public"
    partner = "partner"
    internal = "internal"
    restricted = "restricted"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank < other.rank


_RANKS = {Level.public: 0, Level.partner: 1, Level.internal: 2, Level.restricted: 3}
_BY_ROLE = {Role.viewer: Level.partner, Role.editor: Level.internal, Role.admin: Level.restricted}
GROUP_PREFIX = "clearance:"


def clearance(principal: Principal) -> Level:
    """The highest level this caller may see in full."""
    if not principal.authenticated or principal.role is None:
        return Level.public
    level = _BY_ROLE[principal.role]
    for group in principal.groups:
        if group.startswith(GROUP_PREFIX):
            named = group.removeprefix(GROUP_PREFIX)
            if named in _RANKS and Level(named).rank > level.rank:
                level = Level(named)
    return level


def sees(principal: Principal, level: Level | str) -> bool:
    """Whether the caller is cleared for something at `level`."""
    return Level(level).rank <= clearance(principal).rank


MODES = ("grid", "admin")  # how a location is generalised: a grid cell, or its admin area


def grid_m(principal: Principal, level: Level | str, size_m: int) -> int | None:
    """The grid (metres) the caller sees locations at a `level` on: None when it is cleared
    for them (exact), `size_m` otherwise, whatever the gap: one step short of the layer's
    level shows no more than three.

    >>> from geo_service.domain.access import Principal, Role
    >>> grid_m(Principal("ngo", Role.viewer), "restricted", 10000), grid_m(Principal("a", Role.admin), "restricted", 10000)
    (10000, None)
    """
    return None if sees(principal, level) else size_m


def hidden_attributes(principal: Principal, levels: dict[str, str]) -> tuple[str, ...]:
    """The attributes ({name: level}) above the caller's clearance, sorted; those it may not see.

    >>> from geo_service.domain.access import Principal, Role
    >>> hidden_attributes(Principal("ngo", Role.viewer), {"holder": "internal", "code": "partner"})
    ('holder',)
    """
    return tuple(sorted(name for name, level in levels.items() if not sees(principal, level)))
