"""Built-in kinds of feature: typed attributes (pydantic), allowed geometries and lifecycles.

Values are stored in snake_case; input is normalised first, so "Force majeure", "force-majeure"
and "force_majeure" are the same title status. Attributes a kind does not name are kept as they
came (cadastre exports carry many columns of their own).

    >>> validate_properties("concession", {"status": "Force majeure"})["status"]
    'force_majeure'
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from geo_service.errors import Conflict, InvalidAttributes, InvalidGeometry
from geo_service.problems import joined, msg, pydantic_message


class Kind(StrEnum):
    mine_site = "mine_site"
    concession = "concession"
    tailings_facility = "tailings_facility"
    abandoned_mine = "abandoned_mine"
    asm_zone = "asm_zone"
    asm_permit = "asm_permit"
    trade_point = "trade_point"
    trade_route = "trade_route"
    reference = "reference"


# What a reference layer holds; analyses and screening rules find layers by theme.
THEMES = (
    "protected_area",
    "biodiversity",
    "forest",
    "river",
    "water_body",
    "settlement",
    "road",
    "admin_boundary",
    "other",
)

Scale = Literal["artisanal", "small_scale", "large_scale"]
ActivityStatus = Literal["active", "inactive", "seasonal", "abandoned", "unknown"]
Qualification = Literal["green", "yellow", "red", "not_assessed"]
TitleType = Literal[
    "reconnaissance",
    "exploration",
    "exploitation",
    "small_scale_exploitation",
    "asm_authorisation",
    "quarry",
]
TitleStatus = Literal[
    "application", "active", "force_majeure", "renewal", "expired", "revoked", "relinquished"
]
TailingsStatus = Literal["active", "inactive", "closed", "care_and_maintenance"]
RaiseMethod = Literal[
    "upstream", "downstream", "centreline", "modified_centreline", "single_stage", "unknown"
]
Consequence = Literal["low", "significant", "high", "very_high", "extreme"]
Hazard = Literal[
    "open_shaft",
    "acid_drainage",
    "mercury",
    "cyanide",
    "unstable_waste",
    "subsidence",
    "contaminated_water",
    "other",
]
Rehabilitation = Literal["none", "planned", "in_progress", "completed"]
ZoneStatus = Literal["draft", "proposed", "in_consultation", "gazetted", "suspended", "retired"]
PermitCategory = Literal["prospecting", "mining", "processing", "trading"]
HolderType = Literal["person", "cooperative", "company"]
PermitStatus = Literal["active", "expired", "cancelled", "transferred", "suspended"]
# Points on the way from mine to export (issue 17, trade routes).
TradePointType = Literal["trading_centre", "buying_centre", "roadblock", "border_crossing"]
TradeStage = Literal["extraction", "processing", "refining", "trading", "export"]
RouteLegality = Literal["licit", "suspected", "illicit", "unknown"]

_ENUM_TYPES = (
    Scale,
    ActivityStatus,
    Qualification,
    TitleType,
    TitleStatus,
    TailingsStatus,
    RaiseMethod,
    Consequence,
    Hazard,
    Rehabilitation,
    ZoneStatus,
    PermitCategory,
    HolderType,
    PermitStatus,
    TradePointType,
    TradeStage,
    RouteLegality,
)
_ENUM_VALUES = {value for t in _ENUM_TYPES for value in get_args(t)}


def _normalise(value: Any) -> Any:
    if isinstance(value, str):
        key = re.sub(r"[\s\-]+", "_", value.strip().lower())
        return key if key in _ENUM_VALUES else value
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def _split_list(value: Any) -> Any:
    """Minerals and hazards often arrive as "gold; tin" or "gold,tin" in files."""
    if isinstance(value, str):
        return [part.strip() for part in re.split(r"[;,|]", value) if part.strip()]
    return value


class KindAttributes(BaseModel):
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _normalise_enums(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: _normalise(v) for k, v in data.items()}
        return data


class MineSite(KindAttributes):
    name: str | None = None
    code: str | None = None
    country: str | None = None
    admin_area: str | None = None
    minerals: list[str] = Field(default_factory=list)
    scale: Scale | None = None
    activity_status: ActivityStatus | None = None
    workers: int | None = Field(default=None, ge=0)
    women_workers: int | None = Field(default=None, ge=0)
    mercury_use: bool | None = None
    qualification: Qualification = "not_assessed"
    last_visit: date | None = None
    operator: str | None = None
    source: str | None = None

    _minerals = field_validator("minerals", mode="before")(_split_list)

    @model_validator(mode="after")
    def _women_within_workers(self) -> MineSite:
        if (
            self.workers is not None
            and self.women_workers is not None
            and self.women_workers > self.workers
        ):
            raise PydanticCustomError("women_over_workers", msg("validation.women_over_workers"))
        return self


class Concession(KindAttributes):
    code: str | None = None
    holder: str | None = None
    title_type: TitleType | None = None
    status: TitleStatus | None = None
    granted: date | None = None
    expires: date | None = None
    minerals: list[str] = Field(default_factory=list)

    _minerals = field_validator("minerals", mode="before")(_split_list)

    @model_validator(mode="after")
    def _expiry_after_grant(self) -> Concession:
        if self.granted and self.expires and self.expires < self.granted:
            raise PydanticCustomError(
                "expires_before_granted", msg("validation.expires_before_granted")
            )
        return self


class TailingsFacility(KindAttributes):
    name: str | None = None
    mine: str | None = None
    owner: str | None = Field(default=None, description="Who owns the facility (the company)")
    operator: str | None = None
    status: TailingsStatus | None = None
    raise_method: RaiseMethod | None = None
    max_height_m: float | None = Field(default=None, ge=0)
    volume_m3: float | None = Field(default=None, ge=0)
    consequence: Consequence | None = None
    classification_system: str | None = Field(
        default=None, description="System behind the consequence class (GISTM, CDA, ANCOLD...)"
    )
    year_commenced: int | None = Field(default=None, ge=1800, le=2100)
    data_year: int | None = Field(
        default=None, ge=1800, le=2100, description="Year the registry's data describe"
    )


class AbandonedMine(KindAttributes):
    name: str | None = None
    minerals: list[str] = Field(default_factory=list)
    hazards: list[Hazard] = Field(default_factory=list)
    responsible_party_known: bool | None = None
    responsible_party: str | None = None
    rehabilitation: Rehabilitation = "none"
    rehabilitation_cost: float | None = Field(
        default=None, ge=0, description="Estimated cost of rehabilitation"
    )
    rehabilitation_currency: str | None = Field(
        default=None, pattern=r"^[A-Z]{3}$", description="ISO 4217 code of the cost (XOF, USD...)"
    )
    closure_finance: str | None = Field(
        default=None, description="Closure finance in place (provision, fund, bond...)"
    )

    _lists = field_validator("minerals", "hazards", mode="before")(_split_list)

    @model_validator(mode="after")
    def _cost_has_currency(self) -> AbandonedMine:
        if self.rehabilitation_cost is not None and self.rehabilitation_currency is None:
            raise PydanticCustomError("cost_needs_currency", msg("validation.cost_needs_currency"))
        return self


class AsmPermit(KindAttributes):
    """An ASM permit (DOMAIN.md). Renewal, transfer and cancellation are events recorded by
    store/enforcement.py, which changes these fields with them."""

    number: str | None = None
    category: PermitCategory | None = None
    holder: str | None = None
    holder_type: HolderType | None = None
    issued: date | None = None
    expires: date | None = None
    status: PermitStatus = "active"
    minerals: list[str] = Field(default_factory=list)
    zone_id: int | None = Field(default=None, ge=1, description="The ASM zone it is issued in")

    _minerals = field_validator("minerals", mode="before")(_split_list)

    @model_validator(mode="after")
    def _expiry_after_issue(self) -> AsmPermit:
        if self.issued and self.expires and self.expires < self.issued:
            raise PydanticCustomError(
                "expires_before_issued", msg("validation.expires_before_issued")
            )
        return self


class AsmZone(KindAttributes):
    code: str | None = None
    name: str | None = None
    minerals: list[str] = Field(default_factory=list)
    status: ZoneStatus = "draft"
    authority: str | None = None
    manager: str | None = Field(default=None, description="Who runs the zone day to day")
    capacity: int | None = Field(default=None, ge=0, description="How many miners it can take")
    decree_ref: str | None = None
    effective_from: date | None = None
    effective_to: date | None = None

    _minerals = field_validator("minerals", mode="before")(_split_list)

    @model_validator(mode="after")
    def _dates_in_order(self) -> AsmZone:
        if self.effective_from and self.effective_to and self.effective_to < self.effective_from:
            raise PydanticCustomError(
                "effective_to_before_from", msg("validation.effective_to_before_from")
            )
        return self


class TradePoint(KindAttributes):
    name: str | None = None
    type: TradePointType | None = Field(
        default=None, description="trading_centre, buying_centre, roadblock or border_crossing"
    )
    minerals: list[str] = Field(default_factory=list)
    operator: str | None = Field(default=None, description="Who runs it (a trader, a service)")
    country: str | None = None

    _minerals = field_validator("minerals", mode="before")(_split_list)


class TradeRoute(KindAttributes):
    name: str | None = None
    mineral: str | None = None
    origin: str | None = Field(default=None, description="Where the mineral leaves (a site)")
    via: list[str] = Field(default_factory=list, description="Trading centres on the way")
    destination: str | None = Field(default=None, description="The export point")
    stages: list[TradeStage] = Field(default_factory=list)
    legality: RouteLegality = Field(
        default="unknown", description="licit, suspected (of smuggling), illicit or unknown"
    )

    _via = field_validator("via", mode="before")(_split_list)

    @field_validator("stages", mode="before")
    @classmethod
    def _stages(cls, value: Any) -> Any:
        return _normalise(_split_list(value))


MODELS: dict[Kind, type[KindAttributes] | None] = {
    Kind.mine_site: MineSite,
    Kind.concession: Concession,
    Kind.tailings_facility: TailingsFacility,
    Kind.abandoned_mine: AbandonedMine,
    Kind.asm_zone: AsmZone,
    Kind.asm_permit: AsmPermit,
    Kind.trade_point: TradePoint,
    Kind.trade_route: TradeRoute,
    Kind.reference: None,
}


def field_schemas(kind: str | Kind) -> dict[str, dict[str, Any]]:
    """The JSON Schema of each field `kind` declares (none for a reference layer), as the
    queryables and the OpenAPI document describe them: named by the field, nullable left out."""
    model = MODELS.get(Kind(kind)) if kind in Kind.__members__ else None
    if model is None:
        return {}
    return {
        name: {"title": name, **_plain(schema)}
        for name, schema in model.model_json_schema()["properties"].items()
    }


def _plain(schema: dict[str, Any]) -> dict[str, Any]:
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    chosen = dict(options[0]) if len(options) == 1 else dict(schema)
    for member in ("anyOf", "default", "title"):
        chosen.pop(member, None)
    if "description" in schema:
        chosen["description"] = schema["description"]
    return chosen


_POINT = {"Point", "MultiPoint"}
_POLYGON = {"Polygon", "MultiPolygon"}
GEOMETRY_TYPES: dict[Kind, set[str] | None] = {
    Kind.mine_site: _POINT | _POLYGON,
    Kind.concession: _POLYGON,
    Kind.tailings_facility: _POINT | _POLYGON,
    Kind.abandoned_mine: _POINT | _POLYGON,
    Kind.asm_zone: _POLYGON,
    Kind.asm_permit: _POINT | _POLYGON,
    Kind.trade_point: _POINT,
    Kind.trade_route: {"LineString", "MultiLineString"},
    Kind.reference: None,
}

# Where an ASM zone may go next; anything else is refused with the allowed moves named.
ZONE_TRANSITIONS: dict[str, set[str]] = {
    "draft": {"proposed", "retired"},
    "proposed": {"draft", "in_consultation", "retired"},
    "in_consultation": {"draft", "proposed", "gazetted", "retired"},
    "gazetted": {"suspended", "retired"},
    "suspended": {"gazetted", "retired"},
    "retired": set(),
}
# Gazetting is a legal decision: a move to this status is screened (analysis/screen.py) and
# refused while a rule fails, unless the mover overrides it with a reason kept in the history.
SCREENED_STATUS = "gazetted"
# Zones in force: deleting one is an admin's act; anyone else retires it (a status move).
ADMIN_DELETE_STATUSES = frozenset({"gazetted", "suspended"})


_KINDS: dict[str, Kind] = {k.value: k for k in Kind}


def parse_kind(kind: str) -> Kind:
    """The Kind named `kind` (a Kind itself, or its value); InvalidAttributes naming the kinds."""
    # A dict, not Kind(kind): an import asks once per feature.
    found = _KINDS.get(kind) if isinstance(kind, str) else None
    if found is None:
        names = ", ".join(k.value for k in Kind)
        raise InvalidAttributes(msg("kind.unknown", kind=kind, kinds=names))
    return found


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def validate_properties(kind: str | Kind, properties: dict[str, Any], where: Any = None) -> dict:
    """The properties checked and normalised for `kind`; InvalidAttributes lists every problem."""
    model = MODELS[parse_kind(kind)]
    clean = {k: v for k, v in properties.items() if v is not None and v != ""}
    if model is None:
        return clean
    try:
        parsed = model.model_validate(clean)
    except ValidationError as exc:
        problems: list[dict[str, Any]] = []
        said: list[str] = []
        for err in exc.errors(include_url=False):
            field = ".".join(str(p) for p in err["loc"])
            message = pydantic_message(err)
            value = _jsonable(err.get("input")) if field else None
            problems.append({"field": field or "(feature)", "message": message, "value": value})
            # A check across fields (the whole feature's) names its fields itself.
            said.append(msg("validation.at", where=field, message=message) if field else message)
        raise InvalidAttributes(
            msg("kind.attributes", kind=str(kind), summary=joined(said)),
            where=where,
            errors=problems,
        ) from None
    data = parsed.model_dump(exclude_none=True)
    return {k: _jsonable(v) for k, v in data.items()}


def check_geometry_type(kind: str | Kind, geometry_type: str, where: Any = None) -> None:
    allowed = GEOMETRY_TYPES[parse_kind(kind)]
    if allowed is not None and geometry_type not in allowed:
        raise InvalidGeometry(
            msg("kind.geometry", kind=str(kind), allowed=", ".join(sorted(allowed)),
                type=geometry_type),
            where=where,
        )  # fmt: skip


def check_theme(theme: str | None) -> str | None:
    if theme is None or theme == "":
        return None
    if theme not in THEMES:
        raise InvalidAttributes(msg("theme.unknown", theme=theme, themes=", ".join(THEMES)))
    return theme


def check_zone_transition(current: str | None, new: str | None) -> None:
    if current is None or new is None or current == new:
        return
    allowed = ZONE_TRANSITIONS.get(current, set())
    if new not in allowed:
        moves = ", ".join(sorted(allowed)) or msg("zone.no_moves")
        raise Conflict(msg("zone.move", current=current, new=new, moves=moves))


def display_name(properties: dict[str, Any], name_field: str | None = None) -> str | None:
    """A feature's name: the chosen field, or the first of name/nom/NAME/NOM/code."""
    keys = [name_field] if name_field else ["name", "nom", "NAME", "NOM", "Name", "Nom", "code"]
    for key in keys:
        value = properties.get(key) if key else None
        if value not in (None, ""):
            return str(value)
    return None
