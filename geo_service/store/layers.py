"""Layers and features: create, read, update, delete, with validation by kind (the ORM path).

Bulk imports have their own path (io/); this module is for editing one feature at a time and
for managing layers. Every function takes the principal `who`: a layer it may not read does
not exist for it, and every write is recorded under its name (history and the audit log).
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geo_service.analysis.messages import Reason
from geo_service.db import audit
from geo_service.db.access import visible
from geo_service.db.models import Feature, FeatureHistory, Layer
from geo_service.domain.access import Principal, Role, check_visibility
from geo_service.domain.geometry import check_geometry, parse_geojson, to_geojson
from geo_service.domain.kinds import (
    ADMIN_DELETE_STATUSES,
    SCREENED_STATUS,
    Kind,
    check_geometry_type,
    check_theme,
    check_zone_transition,
    display_name,
    parse_kind,
    validate_properties,
)
from geo_service.domain.styles import (
    MAX_CATEGORIES,
    auto_categories,
    check_style,
    palette_colour,
)
from geo_service.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    PreconditionFailed,
    UnknownFeature,
    UnknownLayer,
)
from geo_service.problems import joined, msg
from geo_service.store import catalog, zoning
from geo_service.store.sensitivity import (
    EXACT,
    SENSITIVITY,
    Mask,
    seen_geojson,
    seen_properties,
)

SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
# Sort orders of layers are this far apart: a layer moved between two takes the middle.
ORDER_STEP = 1000


# -- layers -------------------------------------------------------------------------------------


def _visible_to(who: Principal):
    sql, params = visible(who, "layers")
    return text(sql).bindparams(**params)


def get_layer(session: Session, slug: str, who: Principal) -> Layer:
    """The layer `slug` if `who` may read it; UnknownLayer otherwise (whether or not it exists,
    so that a private layer's name is not given away)."""
    layer = None
    if SLUG.fullmatch(slug or ""):
        layer = session.scalar(select(Layer).where(Layer.slug == slug, _visible_to(who)))
    if layer is None:
        raise UnknownLayer(msg("layer.unknown", layer=slug), where={"layer": slug[:63]})
    return layer


def list_layers(session: Session, who: Principal) -> list[Layer]:
    """The layers `who` may read, by kind, then in the order set for them, then by slug."""
    query = select(Layer).where(_visible_to(who)).order_by(Layer.kind, Layer.sort_order, Layer.slug)
    return list(session.scalars(query))


def may_manage(layer: Layer, who: Principal) -> bool:
    """Whether `who` may change or delete `layer`: an admin any layer, an editor the layers it
    owns (those it imported or created)."""
    return who.is_admin or (
        who.allows(Role.editor) and layer.owner is not None and layer.owner == who.name
    )


def managed_layer(session: Session, slug: str, who: Principal) -> Layer:
    """The layer `slug` if `who` may manage it. Below an admin, every other slug is Forbidden
    alike, whether its layer exists, is someone else's or cannot be read: an editor learns
    nothing of layers that are not its own."""
    if who.is_admin:
        return get_layer(session, slug, who)
    who.require(Role.editor, msg("access.manage_layer"))
    layer = None
    if SLUG.fullmatch(slug or ""):
        layer = session.scalar(select(Layer).where(Layer.slug == slug, _visible_to(who)))
    if layer is None or not may_manage(layer, who):
        raise Forbidden(
            msg("layer.not_owner", layer=slug[:63], name=who.name), where={"layer": slug[:63]}
        )
    return layer


def _check_slug(slug: str) -> None:
    if not SLUG.fullmatch(slug or ""):
        raise InvalidInput(msg("layer.bad_slug", slug=slug[:80]), where={"slug": slug[:80]})


def _metadata(layer: Layer) -> dict[str, Any]:
    return {
        key: getattr(layer, key)
        for key in ("slug", "title", "title_fr", "title_en", "kind", "visibility",
                    "description", "attribution", "theme", "owner", "shared_with",
                    "shared_groups", "style", "sort_order", *SENSITIVITY)
    }  # fmt: skip


def create_layer(
    session: Session,
    slug: str,
    who: Principal,
    title: str | None = None,
    kind: str = Kind.reference,
    visibility: str = "public",
    description: str | None = None,
    attribution: str | None = None,
    storage: str = "vector",
    theme: str | None = None,
    shared_with: list[str] | None = None,
    shared_groups: list[str] | None = None,
    title_fr: str | None = None,
    title_en: str | None = None,
) -> Layer:
    """A new layer owned by `who`, listed first among the layers of its kind; `title_fr` and
    `title_en` are its titles in the interface's languages (`title` where one is missing)."""
    _check_slug(slug)
    kind = parse_kind(kind).value
    first = session.scalar(select(func.min(Layer.sort_order)).where(Layer.kind == kind))
    layer = Layer(
        slug=slug,
        title=title or slug,
        title_fr=title_fr or None,
        title_en=title_en or None,
        kind=kind,
        sort_order=(ORDER_STEP if first is None else first) - ORDER_STEP,
        visibility=check_visibility(visibility),
        description=description,
        attribution=attribution,
        storage=storage,
        theme=check_theme(theme),
        owner=who.name,
        shared_with=sorted(set(shared_with or [])),
        shared_groups=sorted(set(shared_groups or [])),
    )
    session.add(layer)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(msg("layer.exists", slug=slug), where={"slug": slug}) from None
    audit.record(session, who, "layer-create", layer_id=layer.id, layer_slug=slug,
                 after=_metadata(layer))  # fmt: skip
    return layer


_EDITABLE = ("title", "description", "visibility", "attribution", "shared_with", "shared_groups",
             "sort_order")  # fmt: skip
_CLEARABLE = ("title_fr", "title_en")  # null or "" clears them: the layer's `title` is shown


def update_layer(session: Session, slug: str, who: Principal, /, **changes: Any) -> Layer:
    """Change a layer's slug (rename), title and its French and English titles, description,
    visibility, sharing, attribution, theme, style or order; `who` is an admin or the editor
    who owns the layer. A style by an attribute without categories gets one per value of the
    attribute (the most frequent first, up to the palette's size)."""
    layer = managed_layer(session, slug, who)
    before = _metadata(layer)
    new_slug = changes.pop("slug", None)
    if new_slug and new_slug != slug:
        _check_slug(new_slug)
        if session.scalar(select(Layer.id).where(Layer.slug == new_slug)):
            raise Conflict(msg("layer.exists", slug=new_slug), where={"slug": new_slug})
        layer.slug = new_slug
    if "theme" in changes:
        layer.theme = check_theme(changes.pop("theme"))
    if changes.get("visibility") is not None:
        check_visibility(changes["visibility"])
    settings = {k: changes.pop(k) for k in SENSITIVITY if changes.get(k) is not None}
    if settings:
        who.require(Role.admin, msg("access.manage_layer"))
        for key, value in settings.items():
            if key == "attribute_sensitivity":
                value = {name: str(level) for name, level in value.items()}
            elif key != "generalise_m":
                value = str(value)
            setattr(layer, key, value)
    if "style" in changes:
        layer.style = _style(session, layer, check_style(changes["style"] or {}))
    for key in _CLEARABLE:
        if key in changes:
            setattr(layer, key, (changes[key] or "").strip() or None)
    for key in _EDITABLE:
        if changes.get(key) is not None:
            value = changes[key]
            setattr(layer, key, sorted(set(value)) if isinstance(value, list) else value)
    layer.version += 1
    layer.updated_at = func.now()
    session.flush()
    audit.record(session, who, "layer-update", layer_id=layer.id, layer_slug=layer.slug,
                 before=before, after=_metadata(layer))  # fmt: skip
    return layer


def _style(session: Session, layer: Layer, style: dict[str, Any]) -> dict[str, Any]:
    """`style` with categories for the values of its attribute, when it has none of its own."""
    if "by" not in style or "categories" in style:
        return style
    values = session.scalars(
        text(
            """
            SELECT properties ->> :by FROM features
             WHERE layer_id = :id AND properties ->> :by IS NOT NULL
             GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT :n
            """
        ),
        {"id": layer.id, "by": style["by"], "n": MAX_CATEGORIES},
    ).all()
    if not values:
        raise InvalidInput(
            msg("style.no_values", layer=layer.slug, field=style["by"]),
            where={"field": "style.by", "layer": layer.slug},
        )
    return {**style, "categories": auto_categories(list(values))}


def delete_layer(session: Session, slug: str, who: Principal) -> None:
    """Delete a layer and its features; `who` is an admin or the editor who owns it."""
    layer = managed_layer(session, slug, who)
    audit.record(session, who, "layer-delete", layer_id=layer.id, layer_slug=layer.slug,
                 before=_metadata(layer))  # fmt: skip
    # The features go to history as they are deleted; one audit row above stands for them all.
    audit.act_as(session, who, action="layer-delete", bulk=True)
    session.delete(layer)
    session.flush()


def describe_layer(session: Session, layer: Layer) -> dict[str, Any]:
    """The layer's settings and what it holds (store/catalog.details, the one description:
    feature count, extent in EPSG:4326, geometry types, the attributes its features hold)."""
    held = catalog.details(session.connection(), [layer.slug])[layer.slug]
    return {
        "slug": layer.slug,
        "title": layer.title,
        "title_fr": layer.title_fr,
        "title_en": layer.title_en,
        "kind": layer.kind,
        "visibility": layer.visibility,
        "owner": layer.owner,
        "shared_with": layer.shared_with,
        "shared_groups": layer.shared_groups,
        "storage": layer.storage,
        "theme": layer.theme,
        "description": layer.description,
        "attribution": layer.attribution,
        "version": layer.version,
        "style": layer.style or {},
        "colour": (layer.style or {}).get("colour") or palette_colour(layer.id),
        "sort_order": layer.sort_order,
        "feature_count": held["feature_count"],
        "extent": held["extent"],
        "geometry_types": held["geometry_types"],
        "attributes": layer.property_schema or held["attributes"],
        "created_at": layer.created_at.isoformat() if layer.created_at else None,
        "updated_at": layer.updated_at.isoformat() if layer.updated_at else None,
    }


# -- features -----------------------------------------------------------------------------------


def _checked(layer: Layer, geometry: dict[str, Any], properties: dict[str, Any], where: Any):
    geom = parse_geojson(geometry, where=where)
    checked = check_geometry(geom, where=where)
    check_geometry_type(layer.kind, checked.geometry.geom_type, where=where)
    props = validate_properties(layer.kind, properties or {}, where=where)
    return checked, props


def create_feature(
    session: Session,
    layer: Layer,
    geometry: dict[str, Any],
    properties: dict[str, Any] | None = None,
    *,
    who: Principal,
    name: str | None = None,
    comment: str | None = None,
    override: str | None = None,
) -> Feature:
    """Add one feature; its geometry is repaired if invalid and its attributes validated. An
    ASM zone created gazetted is screened as a move to gazetted is (see update_feature)."""
    who.require(Role.editor, msg("access.add_feature"))
    where = {"layer": layer.slug}
    checked, props = _checked(layer, geometry, properties or {}, where=where)
    gazetting = layer.kind == Kind.asm_zone and props.get("status") == SCREENED_STATUS
    if override is not None and not gazetting:
        raise InvalidInput(
            msg("zone.override_status", status=SCREENED_STATUS),
            where={**where, "field": "override"},
        )
    is_zone = layer.kind == Kind.asm_zone
    report = zoning.screening(session, None, checked.geometry, who) if is_zone else None
    if gazetting:
        zoning.check_decree(None, props, where)
    overridden = (
        _check_gazetting(session, None, checked.geometry, who, override, where, report)
        if gazetting
        else None
    )
    consents = (
        zoning.check_consents(session, layer, None, checked.geometry, who, where)
        if gazetting
        else None
    )
    audit.act_as(session, who, comment=comment or override)
    feature = Feature(
        layer_id=layer.id,
        name=name or display_name(props),
        properties=props,
        geom=from_shape(checked.geometry, srid=4326),
        created_by=who.actor,
        updated_by=who.actor,
    )
    session.add(feature)
    session.flush()
    if overridden:
        session.refresh(feature)
        _keep_override(session, layer, feature, overridden)
    if report is not None:
        session.refresh(feature)
        zoning.record_transition(
            session, layer, feature, None, who, comment=comment or override, report=report,
            override=overridden, consents=consents,
            border=zoning.border_flag(session, checked.geometry, who),
        )  # fmt: skip
    return feature


def get_feature(
    session: Session, layer: Layer, feature_id: int, *, for_update: bool = False
) -> Feature:
    """The feature; `for_update` locks its row until the transaction ends, so that a version
    checked now is still the version when the change is written."""
    query = select(Feature).where(Feature.layer_id == layer.id, Feature.id == feature_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    feature = session.scalar(query)
    if feature is None:
        raise UnknownFeature(
            msg("feature.unknown", id=feature_id, layer=layer.slug),
            where={"layer": layer.slug, "id": feature_id},
        )
    return feature


def _locked(session: Session, layer: Layer, feature_id: int, expected: int | None) -> Feature:
    """The feature, locked for the change, at the `expected` version when one is given (an
    If-Match on a feature that no longer exists fails as a precondition, as HTTP says)."""
    try:
        feature = get_feature(session, layer, feature_id, for_update=True)
    except UnknownFeature:
        if expected is None:
            raise
        raise PreconditionFailed(
            msg("feature.gone", id=feature_id, layer=layer.slug),
            where={"layer": layer.slug, "id": feature_id},
        ) from None
    _check_version(feature, expected, {"layer": layer.slug, "id": feature_id})
    return feature


def _check_version(feature: Feature, expected: int | None, where: dict[str, Any]) -> None:
    if expected is not None and feature.version != expected:
        raise PreconditionFailed(
            msg("feature.stale", id=feature.id, version=feature.version, expected=expected),
            where=where,
            extra={"current_version": feature.version},
            headers={"ETag": f'"{feature.version}"'},
        )


def update_feature(
    session: Session,
    layer: Layer,
    feature_id: int,
    geometry: dict[str, Any] | None = None,
    properties: dict[str, Any] | None = None,
    replace: bool = False,
    *,
    who: Principal,
    expected_version: int | None = None,
    comment: str | None = None,
    action: str | None = None,
    override: str | None = None,
) -> Feature:
    """Replace (`replace=True`) or patch a feature; an ASM zone's status follows its lifecycle,
    and a change of it needs a `comment` (the reason, kept in the audit log).

    Moving a zone to gazetted screens it as `who` sees the layers, in its new shape: while a
    rule fails the move is refused (Conflict naming the rules and their reasons) unless
    `override` says why it is gazetted all the same; the reason and the rules it overrode are
    kept with the version (history and audit log). The reason stands in for a missing comment.
    """
    who.require(Role.editor, msg("access.change_feature"))
    feature = _locked(session, layer, feature_id, expected_version)
    where = {"layer": layer.slug, "id": feature_id}
    if replace:
        merged = dict(properties or {})
    else:
        merged = {**(feature.properties or {}), **(properties or {})}
        merged = {k: v for k, v in merged.items() if v is not None}
    if geometry is None and replace:
        raise InvalidInput(msg("feature.needs_geometry"), where=where)
    geom_json = geometry if geometry is not None else to_geojson(to_shape(feature.geom))
    checked, props = _checked(layer, geom_json, merged, where=where)
    overridden = None
    report: dict[str, Any] | None = None
    consents: list[dict[str, Any]] | None = None
    before = after = None
    if layer.kind == Kind.asm_zone:
        before, after = (feature.properties or {}).get("status"), props.get("status")
        check_zone_transition(before, after)
        gazetting = before != after and after == SCREENED_STATUS
        if override is not None and not gazetting:
            raise InvalidInput(
                msg("zone.override_move", status=SCREENED_STATUS, before=before, after=after),
                where={**where, "field": "override"},
            )
        comment = comment if (comment or "").strip() else override
        if before != after and not (comment or "").strip():
            raise InvalidInput(
                msg("zone.needs_comment", before=before, after=after),
                where={**where, "field": "comment"},
            )
        if before != after:
            report = zoning.screening(session, feature_id, checked.geometry, who)
        if gazetting:
            zoning.check_decree(feature_id, props, where)
            overridden = _check_gazetting(
                session, feature_id, checked.geometry, who, override, where, report
            )
            consents = zoning.check_consents(
                session, layer, feature_id, checked.geometry, who, where
            )
    audit.act_as(session, who, comment=comment, action=action)
    feature.properties = props
    feature.name = display_name(props) or feature.name
    if geometry is not None:
        feature.geom = from_shape(checked.geometry, srid=4326)
    feature.updated_by = who.actor
    session.flush()
    session.refresh(feature)
    if overridden:
        _keep_override(session, layer, feature, overridden)
    if report is not None:
        zoning.record_transition(
            session, layer, feature, before, who, comment=comment, report=report,
            override=overridden, consents=consents,
            border=zoning.border_flag(session, checked.geometry, who),
        )  # fmt: skip
    return feature


def _check_gazetting(
    session: Session,
    feature_id: int | None,
    geometry: Any,
    who: Principal,
    override: str | None,
    where: dict[str, Any],
    report: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The override to keep (its reason and the rules it set aside), None when every rule
    holds; Conflict listing the failing rules when one fails and nothing overrides it (their
    reasons said in the reader's language)."""
    if report is None:
        report = zoning.screening(session, feature_id, geometry, who)
    failing = [
        {
            "id": rule["id"],
            "code": rule["code"],
            "params": rule["params"],
            "reason": Reason(rule["code"], rule["params"]),
        }
        for rule in report["rules"]
        if rule["verdict"] == "fail"
    ]
    if not failing:
        return None
    if override is None:
        raise Conflict(
            msg(
                "zone.fails_rules",
                zone=zoning.zone_named(feature_id),
                count=len(failing),
                reasons=joined(rule["reason"] for rule in failing),
            ),
            where={**where, "field": "override"},
            extra={"rules": failing},
        )
    return {"reason": override, "rules": failing}


def _keep_override(
    session: Session, layer: Layer, feature: Feature, overridden: dict[str, Any]
) -> None:
    """The override goes with the audit row the trigger just wrote for this version."""
    session.execute(
        text(
            "UPDATE audit_log SET details = coalesce(details, '{}'::jsonb)"
            " || jsonb_build_object('override', CAST(:override AS jsonb))"
            " WHERE layer_id = :layer AND feature_id = :id AND version_after = :version"
        ),
        {
            "override": orjson.dumps(overridden).decode(),
            "layer": layer.id,
            "id": feature.id,
            "version": feature.version,
        },
    )


def delete_feature(
    session: Session,
    layer: Layer,
    feature_id: int,
    *,
    who: Principal,
    expected_version: int | None = None,
    comment: str | None = None,
) -> None:
    """Delete a feature (it stays in history and can be restored); a gazetted ASM zone is a
    legal decision that only an admin may delete: anyone else retires it."""
    who.require(Role.editor, msg("access.delete_feature"))
    feature = _locked(session, layer, feature_id, expected_version)
    status = (feature.properties or {}).get("status")
    if layer.kind == Kind.asm_zone and status in ADMIN_DELETE_STATUSES and not who.is_admin:
        raise Forbidden(
            msg("zone.admin_delete", id=feature_id, status=status),
            where={"layer": layer.slug, "id": feature_id},
        )
    audit.act_as(session, who, comment=comment)
    session.delete(feature)
    session.flush()


def restore_feature(
    session: Session,
    layer: Layer,
    feature_id: int,
    version: int,
    *,
    who: Principal,
    expected_version: int | None = None,
    comment: str | None = None,
) -> Feature:
    """Make an earlier version current again, as a new version (history keeps everything in
    between). A deleted feature comes back under its own id."""
    who.require(Role.editor, msg("access.restore_feature"))
    old = session.scalar(
        select(FeatureHistory).where(
            FeatureHistory.layer_id == layer.id,
            FeatureHistory.feature_id == feature_id,
            FeatureHistory.version == version,
        ).order_by(FeatureHistory.id.desc()).limit(1)
    )  # fmt: skip
    if old is None:
        raise UnknownFeature(
            msg("feature.no_version", id=feature_id, layer=layer.slug, version=version),
            where={"layer": layer.slug, "id": feature_id, "version": version},
        )
    note = comment or f"restored version {version}"
    current = session.scalar(
        select(Feature).where(Feature.layer_id == layer.id, Feature.id == feature_id)
    )
    if current is not None:
        return update_feature(
            session, layer, feature_id, to_geojson(to_shape(old.geom)), old.properties,
            replace=True, who=who, expected_version=expected_version, comment=note,
            action="restore",
        )  # fmt: skip
    last = session.scalar(
        select(func.max(FeatureHistory.version)).where(
            FeatureHistory.layer_id == layer.id, FeatureHistory.feature_id == feature_id
        )
    )
    checked, props = _checked(
        layer, to_geojson(to_shape(old.geom)), old.properties,
        where={"layer": layer.slug, "id": feature_id},
    )  # fmt: skip
    audit.act_as(session, who, comment=note, action="restore")
    feature = Feature(
        id=feature_id,
        layer_id=layer.id,
        name=old.name,
        properties=props,
        geom=from_shape(checked.geometry, srid=4326),
        version=(last or version) + 1,
        created_by=who.actor,
        updated_by=who.actor,
    )
    session.add(feature)
    session.flush()
    session.refresh(feature)
    return feature


def feature_history(
    session: Session, layer: Layer, feature_id: int, mask: Mask = EXACT
) -> list[dict[str, Any]]:
    """Every version of a feature, oldest first, the current one last: who made it and when,
    and from the audit log how (create, update, status, restore), the comment given, for
    a zone gazetted despite failing rules the `override` (reason and rules) and for a zone
    near an international border the `border` flag of its move (store/zoning.py).

    Every version as `mask` lets its reader see the feature (store/sensitivity.py): without
    its hidden attributes (nor its name when that is one), its geometry generalised, and no
    `border` (measured on the exact geometry) when generalised."""
    rows = session.scalars(
        select(FeatureHistory)
        .where(FeatureHistory.layer_id == layer.id, FeatureHistory.feature_id == feature_id)
        .order_by(FeatureHistory.version, FeatureHistory.id)
    ).all()
    changes = {
        version: (action, comment, override, border)
        for version, action, comment, override, border in session.execute(
            text(
                "SELECT version_after, action, comment, details -> 'override',"
                " details -> 'border' FROM audit_log "
                "WHERE layer_id = :layer AND feature_id = :id AND version_after IS NOT NULL "
                "ORDER BY id"
            ),
            {"layer": layer.id, "id": feature_id},
        )
    }
    versions = [
        _version(h.version, h.operation, h.name, h.properties, h.geom, h.valid_from,
                 h.valid_to, h.changed_by, h.replaced_by, changes)
        for h in rows
    ]  # fmt: skip
    current = session.scalar(
        select(Feature).where(Feature.layer_id == layer.id, Feature.id == feature_id)
    )
    if current is not None:
        versions.append(
            _version(current.version, "current", current.name, current.properties,
                     current.geom, current.updated_at, None, current.updated_by, None, changes)
        )  # fmt: skip
    if not versions:
        raise UnknownFeature(
            msg("feature.no_history", id=feature_id, layer=layer.slug),
            where={"layer": layer.slug, "id": feature_id},
        )
    return [_seen_version(session, v, mask) for v in versions]


def _seen_version(session: Session, version: dict[str, Any], mask: Mask) -> dict[str, Any]:
    if mask.exact:
        return version
    seen = version | {"properties": seen_properties(version["properties"], mask)}
    if mask.hides_name:
        seen["name"] = None
    if mask.grid_m is not None:
        seen |= {"geometry": seen_geojson(session, version["geometry"], mask), "border": None}
    return seen


def _version(
    version: int,
    operation: str,
    name: str | None,
    properties: dict[str, Any],
    geom: Any,
    valid_from: Any,
    valid_to: Any,
    changed_by: str | None,
    replaced_by: str | None,
    changes: dict[int, tuple[str, str | None, dict[str, Any] | None, dict[str, Any] | None]],
) -> dict[str, Any]:
    action, comment, override, border = changes.get(version, (None, None, None, None))
    return {
        "version": version,
        "operation": operation,
        "name": name,
        "properties": properties,
        "geometry": to_geojson(to_shape(geom)),
        "valid_from": valid_from.isoformat(),
        "valid_to": valid_to.isoformat() if valid_to is not None else None,
        "changed_by": changed_by,
        "replaced_by": replaced_by,
        "change": action,
        "comment": comment,
        "override": override,
        "border": border,
    }
