"""Layers and features: create, read, update, delete, with validation by kind (the ORM path).

Bulk imports have their own path (io/); this module is for editing one feature at a time and
for managing layers. Writes record who made them (`user`) so history can answer who drew what.
"""

from __future__ import annotations

import re
from typing import Any

from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geo_service.db.models import Feature, FeatureHistory, Layer
from geo_service.domain.geometry import check_geometry, parse_geojson, to_geojson
from geo_service.domain.kinds import (
    Kind,
    check_geometry_type,
    check_theme,
    check_zone_transition,
    display_name,
    parse_kind,
    validate_properties,
)
from geo_service.errors import Conflict, InvalidInput, UnknownFeature, UnknownLayer

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


# -- layers -------------------------------------------------------------------------------------


def get_layer(session: Session, slug: str) -> Layer:
    layer = session.scalar(select(Layer).where(Layer.slug == slug))
    if layer is None:
        raise UnknownLayer(f"No layer named '{slug}'", where={"layer": slug})
    return layer


def list_layers(session: Session, include_private: bool = True) -> list[Layer]:
    query = select(Layer).order_by(Layer.kind, Layer.slug)
    if not include_private:
        query = query.where(Layer.visibility == "public")
    return list(session.scalars(query))


def create_layer(
    session: Session,
    slug: str,
    title: str | None = None,
    kind: str = Kind.reference,
    visibility: str = "public",
    description: str | None = None,
    attribution: str | None = None,
    storage: str = "vector",
    theme: str | None = None,
) -> Layer:
    if not SLUG.match(slug):
        raise InvalidInput(
            f"Layer slug '{slug}' must be 1-63 lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit",
            where={"slug": slug},
        )
    if visibility not in ("public", "private"):
        raise InvalidInput(
            "visibility must be 'public' or 'private'", where={"visibility": visibility}
        )
    layer = Layer(
        slug=slug,
        title=title or slug,
        kind=parse_kind(kind).value,
        visibility=visibility,
        description=description,
        attribution=attribution,
        storage=storage,
        theme=check_theme(theme),
    )
    session.add(layer)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"A layer named '{slug}' exists already", where={"slug": slug}) from None
    return layer


def update_layer(session: Session, slug: str, /, **changes: Any) -> Layer:
    """Change a layer's slug (rename), title, description, visibility, attribution or theme."""
    layer = get_layer(session, slug)
    new_slug = changes.pop("slug", None)
    if new_slug and new_slug != slug:
        if not SLUG.match(new_slug):
            raise InvalidInput(f"Layer slug '{new_slug}' is not valid", where={"slug": new_slug})
        if session.scalar(select(Layer.id).where(Layer.slug == new_slug)):
            raise Conflict(f"A layer named '{new_slug}' exists already", where={"slug": new_slug})
        layer.slug = new_slug
    if "theme" in changes:
        layer.theme = check_theme(changes.pop("theme"))
    for key in ("title", "description", "visibility", "attribution"):
        if changes.get(key) is not None:
            setattr(layer, key, changes[key])
    if layer.visibility not in ("public", "private"):
        raise InvalidInput("visibility must be 'public' or 'private'")
    layer.version += 1
    layer.updated_at = func.now()
    session.flush()
    return layer


def delete_layer(session: Session, slug: str) -> None:
    layer = get_layer(session, slug)
    session.delete(layer)
    session.flush()


def describe_layer(session: Session, layer: Layer) -> dict[str, Any]:
    """Feature count, extent (EPSG:4326), geometry types and the attributes seen."""
    row = session.execute(
        text(
            """
            SELECT count(*) AS n,
                   ST_XMin(ST_Extent(geom)), ST_YMin(ST_Extent(geom)),
                   ST_XMax(ST_Extent(geom)), ST_YMax(ST_Extent(geom)),
                   array_agg(DISTINCT GeometryType(geom)),
                   max(updated_at)
              FROM features WHERE layer_id = :id
            """
        ),
        {"id": layer.id},
    ).one()
    keys = session.execute(
        text(
            """
            SELECT key, jsonb_typeof(value) AS type, count(*) AS n
              FROM (SELECT properties FROM features WHERE layer_id = :id LIMIT 1000) f,
                   jsonb_each(f.properties)
             GROUP BY key, jsonb_typeof(value) ORDER BY key
            """
        ),
        {"id": layer.id},
    ).all()
    schema: dict[str, str] = {}
    for key, typ, _n in keys:
        if typ != "null":
            schema[key] = typ if key not in schema or schema[key] == typ else "mixed"
    return {
        "slug": layer.slug,
        "title": layer.title,
        "kind": layer.kind,
        "visibility": layer.visibility,
        "storage": layer.storage,
        "theme": layer.theme,
        "description": layer.description,
        "attribution": layer.attribution,
        "version": layer.version,
        "feature_count": row[0],
        "extent": None if row[1] is None else [row[1], row[2], row[3], row[4]],
        "geometry_types": sorted({_geometry_type_name(t) for t in row[5] or [] if t}),
        "attributes": layer.property_schema or schema,
        "created_at": layer.created_at.isoformat() if layer.created_at else None,
        "updated_at": layer.updated_at.isoformat() if layer.updated_at else None,
    }


_TYPE_NAMES = {
    "POINT": "Point",
    "MULTIPOINT": "MultiPoint",
    "LINESTRING": "LineString",
    "MULTILINESTRING": "MultiLineString",
    "POLYGON": "Polygon",
    "MULTIPOLYGON": "MultiPolygon",
    "GEOMETRYCOLLECTION": "GeometryCollection",
}


def _geometry_type_name(postgis_type: str) -> str:
    return _TYPE_NAMES.get(postgis_type.upper(), postgis_type)


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
    name: str | None = None,
    user: str | None = None,
) -> Feature:
    """Add one feature; its geometry is repaired if invalid and its attributes validated."""
    checked, props = _checked(layer, geometry, properties or {}, where={"layer": layer.slug})
    feature = Feature(
        layer_id=layer.id,
        name=name or display_name(props),
        properties=props,
        geom=from_shape(checked.geometry, srid=4326),
        created_by=user,
        updated_by=user,
    )
    session.add(feature)
    session.flush()
    return feature


def get_feature(session: Session, layer: Layer, feature_id: int) -> Feature:
    feature = session.scalar(
        select(Feature).where(Feature.layer_id == layer.id, Feature.id == feature_id)
    )
    if feature is None:
        raise UnknownFeature(
            f"No feature {feature_id} in layer '{layer.slug}'",
            where={"layer": layer.slug, "id": feature_id},
        )
    return feature


def update_feature(
    session: Session,
    layer: Layer,
    feature_id: int,
    geometry: dict[str, Any] | None = None,
    properties: dict[str, Any] | None = None,
    replace: bool = False,
    user: str | None = None,
    expected_version: int | None = None,
) -> Feature:
    """Replace (`replace=True`) or patch a feature; an ASM zone's status follows its lifecycle."""
    feature = get_feature(session, layer, feature_id)
    where = {"layer": layer.slug, "id": feature_id}
    if expected_version is not None and feature.version != expected_version:
        raise Conflict(
            f"Feature {feature_id} is at version {feature.version}, not {expected_version}: "
            "someone else changed it; reload and try again",
            where=where,
        )
    if replace:
        merged = dict(properties or {})
    else:
        merged = {**(feature.properties or {}), **(properties or {})}
        merged = {k: v for k, v in merged.items() if v is not None}
    if geometry is None and replace:
        raise InvalidInput("Replacing a feature needs its geometry", where=where)
    geom_json = geometry if geometry is not None else to_geojson(to_shape(feature.geom))
    checked, props = _checked(layer, geom_json, merged, where=where)
    if layer.kind == Kind.asm_zone:
        check_zone_transition((feature.properties or {}).get("status"), props.get("status"))
    feature.properties = props
    feature.name = display_name(props) or feature.name
    if geometry is not None:
        feature.geom = from_shape(checked.geometry, srid=4326)
    feature.updated_by = user
    session.flush()
    session.refresh(feature)
    return feature


def delete_feature(
    session: Session, layer: Layer, feature_id: int, user: str | None = None
) -> None:
    feature = get_feature(session, layer, feature_id)
    if user:
        session.execute(text("SELECT set_config('geo_service.user', :u, true)"), {"u": user})
    session.delete(feature)
    session.flush()


def feature_history(session: Session, layer: Layer, feature_id: int) -> list[dict[str, Any]]:
    """Every version of a feature, oldest first, the current one last (who and when)."""
    rows = session.scalars(
        select(FeatureHistory)
        .where(FeatureHistory.layer_id == layer.id, FeatureHistory.feature_id == feature_id)
        .order_by(FeatureHistory.version, FeatureHistory.id)
    ).all()
    versions = [
        {
            "version": h.version,
            "operation": h.operation,
            "name": h.name,
            "properties": h.properties,
            "geometry": to_geojson(to_shape(h.geom)),
            "valid_from": h.valid_from.isoformat(),
            "valid_to": h.valid_to.isoformat(),
            "changed_by": h.changed_by,
            "replaced_by": h.replaced_by,
        }
        for h in rows
    ]
    current = session.scalar(
        select(Feature).where(Feature.layer_id == layer.id, Feature.id == feature_id)
    )
    if current is not None:
        versions.append(
            {
                "version": current.version,
                "operation": "current",
                "name": current.name,
                "properties": current.properties,
                "geometry": to_geojson(to_shape(current.geom)),
                "valid_from": current.updated_at.isoformat(),
                "valid_to": None,
                "changed_by": current.updated_by,
                "replaced_by": None,
            }
        )
    if not versions:
        raise UnknownFeature(f"No feature {feature_id} in layer '{layer.slug}' and no history")
    return versions
