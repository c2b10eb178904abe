"""Features of every kind go into PostGIS through the model and come back as they went in."""

from __future__ import annotations

import pytest
from geoalchemy2.shape import to_shape
from pyproj import Geod
from shapely.geometry import shape
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.domain.access import OPERATOR, Principal, Role
from geo_service.errors import Conflict, InvalidAttributes, InvalidCRS, InvalidGeometry
from geo_service.store import layers as store

PLANNER_A = Principal("planner-a", Role.editor)
PLANNER_B = Principal("planner-b", Role.editor)

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[-8.5, 12.0], [-8.4, 12.0], [-8.4, 12.1], [-8.5, 12.1], [-8.5, 12.0]]],
}
POINT = {"type": "Point", "coordinates": [-8.45, 12.05]}

EXAMPLES = {
    "mine_site": (
        POINT,
        {
            "name": "Placer de Kofi",
            "code": "ML-1",
            "country": "Mali",
            "admin_area": "Kangaba",
            "minerals": "gold; silver",
            "scale": "Small-scale",
            "activity_status": "active",
            "workers": 120,
            "women_workers": 40,
            "mercury_use": True,
            "qualification": "yellow",
            "last_visit": "2025-03-04",
            "operator": "Coopérative Benkadi",
            "source": "survey",
        },
    ),
    "concession": (
        SQUARE,
        {
            "code": "PE-1",
            "holder": "Sahel Minerals",
            "title_type": "small-scale exploitation",
            "status": "Force majeure",
            "granted": "2020-01-01",
            "expires": "2025-01-01",
            "minerals": ["gold"],
        },
    ),
    "tailings_facility": (
        SQUARE,
        {
            "name": "TSF 1",
            "mine": "Mine A",
            "operator": "Op",
            "status": "care and maintenance",
            "raise_method": "upstream",
            "max_height_m": 32.5,
            "volume_m3": 1.2e6,
            "consequence": "very high",
            "classification_system": "GISTM",
            "year_commenced": 2004,
        },
    ),
    "abandoned_mine": (
        POINT,
        {
            "name": "Old shaft",
            "minerals": ["gold"],
            "hazards": ["open shaft", "mercury"],
            "responsible_party_known": False,
            "rehabilitation": "planned",
        },
    ),
    "asm_zone": (
        SQUARE,
        {
            "code": "ZOP-1",
            "name": "Zone 1",
            "minerals": ["gold"],
            "status": "draft",
            "authority": "DNGM",
            "decree_ref": "A-2024-1",
            "effective_from": "2024-01-01",
        },
    ),
    "reference": (SQUARE, {"WDPA_ID": 555, "NAME": "Parc", "IUCN_CAT": "II"}),
}


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_every_kind_round_trips_through_postgis(session: Session, kind: str) -> None:
    geometry, properties = EXAMPLES[kind]
    layer = store.create_layer(session, f"t-{kind.replace('_', '-')}", OPERATOR, kind=kind)
    created = store.create_feature(
        session, layer, geometry, properties, who=Principal("amina", Role.editor)
    )
    session.expire_all()

    row = session.execute(
        text(
            "SELECT ST_AsText(geom), ST_SRID(geom), properties, name, version, created_by, "
            "ST_Area(geom::geography) FROM features WHERE id = :id"
        ),
        {"id": created.id},
    ).one()
    assert row[1] == 4326
    assert shape(geometry).equals(to_shape(store.get_feature(session, layer, created.id).geom))
    assert row[4] == 1 and row[5] == "amina"
    stored = row[2]
    if kind == "reference":
        assert stored == properties  # kept exactly as they came
    assert set(properties) <= set(stored)
    if geometry is SQUARE:
        lons, lats = zip(*SQUARE["coordinates"][0], strict=True)
        geod_area = abs(Geod(ellps="WGS84").polygon_area_perimeter(lons, lats)[0])
        assert row[6] == pytest.approx(geod_area, rel=1e-3)


def test_values_are_normalised(session: Session) -> None:
    layer = store.create_layer(session, "t-norm", OPERATOR, kind="concession")
    feature = store.create_feature(session, layer, SQUARE, EXAMPLES["concession"][1], who=OPERATOR)
    assert feature.properties["status"] == "force_majeure"
    assert feature.properties["title_type"] == "small_scale_exploitation"
    assert feature.name == "PE-1"
    site_layer = store.create_layer(session, "t-norm-site", OPERATOR, kind="mine_site")
    site = store.create_feature(session, site_layer, POINT, EXAMPLES["mine_site"][1], who=OPERATOR)
    assert site.properties["minerals"] == ["gold", "silver"]
    assert site.properties["scale"] == "small_scale"


@pytest.mark.parametrize(
    ("kind", "bad", "field"),
    [
        ("mine_site", {"scale": "gigantic"}, "scale"),
        ("mine_site", {"workers": -3}, "workers"),
        ("mine_site", {"workers": 10, "women_workers": 20}, "women_workers cannot exceed workers"),
        ("concession", {"status": "sleeping"}, "status"),
        ("concession", {"granted": "2024-01-01", "expires": "2020-01-01"}, "expires"),
        ("tailings_facility", {"consequence": "catastrophic"}, "consequence"),
        ("tailings_facility", {"max_height_m": "tall"}, "max_height_m"),
        ("abandoned_mine", {"hazards": ["dragons"]}, "hazards"),
        ("asm_zone", {"status": "approved"}, "status"),
        ("asm_zone", {"last_visit": "x", "effective_from": "not a date"}, "effective_from"),
    ],
)
def test_attributes_that_break_the_schema_are_refused(
    session: Session, kind: str, bad: dict, field: str
) -> None:
    layer = store.create_layer(session, f"t-bad-{kind.replace('_', '-')}", OPERATOR, kind=kind)
    geometry = POINT if kind in ("mine_site", "abandoned_mine") else SQUARE
    before = session.execute(text("SELECT count(*) FROM features")).scalar()
    with pytest.raises(InvalidAttributes) as info:
        store.create_feature(session, layer, geometry, bad, who=OPERATOR)
    assert field in info.value.detail
    assert f"kind '{kind}'" in info.value.detail
    assert info.value.errors  # one entry per problem, for the problem-details body
    assert session.execute(text("SELECT count(*) FROM features")).scalar() == before


def test_geometry_type_must_fit_the_kind(session: Session) -> None:
    layer = store.create_layer(session, "t-zone-point", OPERATOR, kind="asm_zone")
    with pytest.raises(InvalidGeometry, match="must be one of MultiPolygon, Polygon"):
        store.create_feature(session, layer, POINT, {}, who=OPERATOR)


def test_projected_coordinates_are_refused_with_a_hint(session: Session) -> None:
    layer = store.create_layer(session, "t-projected", OPERATOR, kind="reference")
    with pytest.raises(InvalidCRS, match="EPSG:4326"):
        store.create_feature(
            session, layer, {"type": "Point", "coordinates": [500000, 1300000]}, who=OPERATOR
        )


def test_self_intersecting_polygon_is_repaired(session: Session) -> None:
    layer = store.create_layer(session, "t-bowtie", OPERATOR, kind="reference")
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    feature = store.create_feature(session, layer, bowtie, {}, who=OPERATOR)
    valid = session.execute(
        text("SELECT ST_IsValid(geom), GeometryType(geom) FROM features WHERE id = :id"),
        {"id": feature.id},
    ).one()
    assert valid[0] is True and valid[1] in ("POLYGON", "MULTIPOLYGON")


def test_updates_keep_history_and_zone_lifecycle(session: Session) -> None:
    layer = store.create_layer(session, "t-zone-life", OPERATOR, kind="asm_zone")
    zone = store.create_feature(session, layer, SQUARE, {"code": "Z1"}, who=PLANNER_A)
    assert zone.properties["status"] == "draft"
    store.update_feature(
        session,
        layer,
        zone.id,
        properties={"status": "proposed"},
        who=PLANNER_B,
        comment="deposits proven",
    )
    with pytest.raises(Conflict, match="cannot move from 'proposed' to 'gazetted'"):
        store.update_feature(
            session,
            layer,
            zone.id,
            properties={"status": "gazetted"},
            who=PLANNER_B,
            comment="skip ahead",
        )
    history = store.feature_history(session, layer, zone.id)
    assert [h["version"] for h in history] == [1, 2]
    assert history[0]["properties"]["status"] == "draft"
    assert history[0]["changed_by"] == "planner-a" and history[0]["replaced_by"] == "planner-b"
    assert history[-1]["operation"] == "current" and history[-1]["changed_by"] == "planner-b"


def test_layer_version_moves_with_every_write(session: Session) -> None:
    layer = store.create_layer(session, "t-version", OPERATOR, kind="reference")
    v0 = session.execute(text("SELECT version FROM layers WHERE id=:i"), {"i": layer.id}).scalar()
    feature = store.create_feature(session, layer, POINT, {}, who=OPERATOR)
    v1 = session.execute(text("SELECT version FROM layers WHERE id=:i"), {"i": layer.id}).scalar()
    store.update_feature(session, layer, feature.id, properties={"a": 1}, who=OPERATOR)
    v2 = session.execute(text("SELECT version FROM layers WHERE id=:i"), {"i": layer.id}).scalar()
    assert v0 < v1 < v2
