"""Field and value mappings on import: a national cadastre's own columns (Code, Parties, Licence_,
Status) land as typed titles, the mapping is kept with the layer and reused, a preview says what
maps and what does not, and a bad mapping is refused by name with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box, shape
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from geo_service import cli
from geo_service.domain.access import OPERATOR
from geo_service.errors import InvalidInput
from geo_service.io.load import ImportOptions, import_file
from geo_service.io.mapping import apply_mapping, parse_mapping
from tests.io.conftest import counts, geodesic_ha, in_folder, shapefile_parts, write_zip

LICENCES = ["PE", "PR", "ARPC", "AECP", "PE"]
STATUSES = ["Droit Octroyé PR->PE", "En cours", "Droit Octroyé", "Demande", "Droit Octroyé"]
# What the cadastre's codes mean, in the kind's words (domain/kinds.py).
MAPPING = {
    "fields": {"code": "Code", "holder": "Parties", "title_type": "Licence_", "status": "Status"},
    "values": {
        "title_type": {
            "PE": "exploitation",
            "PR": "exploration",
            "ARPC": "asm_authorisation",
            "AECP": "small_scale_exploitation",
        },
        "status": {
            "Droit Octroyé PR->PE": "active",
            "Droit Octroyé": "active",
            "En cours": "renewal",
            "Demande": "application",
        },
    },
}


def cadastre(n: int = 5) -> gpd.GeoDataFrame:
    """Titles as a national cadastre exports them: its own column names and codes."""
    return gpd.GeoDataFrame(
        {
            "Code": [f"{lic}-{100 + i}" for i, lic in enumerate(LICENCES)][:n],
            "Parties": ["Société Minière de Kédougou", "Orpailleurs Unis", "GIE Sadiola",
                        "Coopérative Kéniéba", "SOMIKA"][:n],
            "Licence_": LICENCES[:n],
            "Status": STATUSES[:n],
            "Superficie": [100.0, 400.0, 25.5, 60.0, 12.0][:n],
        },
        geometry=[box(-12.3 + i / 10, 12.5, -12.25 + i / 10, 12.55) for i in range(n)],
        crs="EPSG:4326",
    )  # fmt: skip


@pytest.fixture
def cadastre_geojson(tmp_path: Path) -> Path:
    path = tmp_path / "cadastre.geojson"
    pyogrio.write_dataframe(cadastre(), path, driver="GeoJSON")
    return path


@pytest.fixture
def cadastre_zip(tmp_path: Path) -> Path:
    """The same titles as a Shapefile in the folders of an official download."""
    parts = shapefile_parts(tmp_path / "shp", "titres_miniers", cadastre())
    members = in_folder("Cadastre_Minier_2025/SHP", "titres_miniers", parts)
    return write_zip(tmp_path / "cadastre.zip", members)


def upload(client: TestClient, url: str, path: Path, **fields: str):
    with path.open("rb") as f:
        return client.post(url, files={"file": (path.name, f)}, data=fields)


def items(client: TestClient, slug: str) -> list[dict]:
    response = client.get(f"/collections/{slug}/items", params={"limit": 100})
    assert response.status_code == 200, response.text
    return sorted(response.json()["features"], key=lambda f: f["properties"]["code"])


def totals(engine: Engine) -> tuple[int, int]:
    with Session(engine) as session:
        return counts(session)


@pytest.mark.parametrize("fixture", ["cadastre_geojson", "cadastre_zip"])
def test_mapped_cadastre_lands_as_typed_titles(
    client: TestClient, request: pytest.FixtureRequest, fixture: str
) -> None:
    path = request.getfixturevalue(fixture)
    slug = f"map-titles-{fixture.removeprefix('cadastre_')}"
    response = upload(
        client, f"/layers/{slug}/import", path, kind="concession", mapping=json.dumps(MAPPING)
    )
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 5 and response.json()["mapping"] == MAPPING
    features = items(client, slug)
    props = [f["properties"] for f in features]
    assert [p["code"] for p in props] == ["AECP-103", "ARPC-102", "PE-100", "PE-104", "PR-101"]
    assert [p["title_type"] for p in props] == [
        "small_scale_exploitation", "asm_authorisation", "exploitation", "exploitation",
        "exploration",
    ]  # fmt: skip
    assert [p["status"] for p in props] == [
        "application", "active", "active", "active", "renewal"
    ]  # fmt: skip
    assert props[0]["holder"] == "Coopérative Kéniéba"
    # the mapped source fields are renamed, not kept twice; the others are kept as they came
    assert not {"Code", "Parties", "Licence_", "Status"} & set(props[0])
    assert props[0]["Superficie"] == 60.0
    # the geometry is the file's: its area as pyproj measures it on the ellipsoid
    first = next(f for f in features if f["properties"]["code"] == "PE-100")
    expected = geodesic_ha(box(-12.3, 12.5, -12.25, 12.55))
    assert geodesic_ha(shape(first["geometry"])) == pytest.approx(expected, rel=1e-6)


def test_reimport_reuses_the_kept_mapping(
    client: TestClient, cadastre_geojson: Path, tmp_path: Path
) -> None:
    slug = "map-kept"
    first = upload(client, f"/layers/{slug}/import", cadastre_geojson, kind="concession",
                   mapping=json.dumps(MAPPING), upsert_key="code")  # fmt: skip
    assert first.status_code == 200, first.text
    assert client.get(f"/layers/{slug}").json()["import_mapping"] == MAPPING

    # next year's export: the same columns, one title moved from exploration to exploitation
    update = cadastre().iloc[[1]].assign(Licence_="PE", Status="Droit Octroyé PR->PE")
    path = tmp_path / "cadastre-2026.geojson"
    pyogrio.write_dataframe(update, path, driver="GeoJSON")
    again = upload(client, f"/layers/{slug}/import", path, upsert_key="code")
    assert again.status_code == 200, again.text
    assert again.json()["mapping"] == MAPPING and again.json()["updated"] == 1
    moved = next(f for f in items(client, slug) if f["properties"]["code"] == "PR-101")
    assert moved["properties"]["title_type"] == "exploitation"
    assert moved["properties"]["status"] == "active"

    # an empty mapping imports the file as it comes and forgets the kept one
    raw = upload(client, "/layers/map-kept/import", path, mapping="{}")
    assert raw.status_code == 200, raw.text
    assert raw.json()["mapping"] is None
    assert client.get(f"/layers/{slug}").json()["import_mapping"] is None
    newest = client.get(f"/collections/{slug}/items", params={"limit": 100}).json()["features"]
    assert "Licence_" in max(newest, key=lambda f: f["id"])["properties"]


def test_preview_says_what_maps_and_what_does_not(
    client: TestClient, engine: Engine, cadastre_zip: Path
) -> None:
    partial = {
        "fields": {"code": "Code", "holder": "Parties", "title_type": "Licence_"},
        "values": {"title_type": {"PE": "exploitation", "PR": "exploration"}},
    }
    before = totals(engine)
    response = upload(client, "/layers/map-preview/import/preview", cadastre_zip,
                      kind="concession", mapping=json.dumps(partial))  # fmt: skip
    assert response.status_code == 200, response.text
    assert totals(engine) == before  # nothing written, no layer created
    assert client.get("/layers/map-preview").status_code == 404
    report = response.json()
    assert report["exists"] is False and report["format"] == "shp"
    assert report["kind"] == "concession" and report["features"] == 5
    assert report["mapping_from"] == "given" and report["mapping"] == partial
    assert report["source_fields"] == ["Code", "Parties", "Licence_", "Status", "Superficie"]
    fields = {f["field"]: f for f in report["fields"]}
    assert {name: f["source"] for name, f in fields.items() if f["source"]} == {
        "code": "Code", "holder": "Parties", "title_type": "Licence_"
    }  # fmt: skip
    assert report["unmapped_fields"] == ["status", "granted", "expires", "minerals"]
    assert report["kept_fields"] == ["Status", "Superficie"]
    title_type = fields["title_type"]
    assert "exploitation" in title_type["allowed"]
    assert title_type["mapped_values"] == [
        {"value": "PE", "to": "exploitation", "count": 2},
        {"value": "PR", "to": "exploration", "count": 1},
    ]
    assert title_type["unmapped_values"] == [
        {"value": "AECP", "count": 1}, {"value": "ARPC", "count": 1}
    ]  # fmt: skip
    refused = {r["value"]: r for r in title_type["refused_values"]}
    assert set(refused) == {"AECP", "ARPC"} and refused["ARPC"]["count"] == 1
    assert "exploitation" in refused["ARPC"]["message"]
    assert title_type["refused_count"] == 2 and report["refused_features"] == 2
    assert fields["holder"]["refused_values"] == [] and "unmapped_values" not in fields["holder"]

    # said in French when asked in French
    french = upload(client, "/layers/map-preview/import/preview?lang=fr", cadastre_zip,
                    kind="concession", mapping=json.dumps(partial))  # fmt: skip
    message = {r["value"]: r for r in french.json()["fields"][2]["refused_values"]}["ARPC"]
    assert "exploitation" in message["message"] and message["message"] != refused["ARPC"]["message"]


def test_preview_uses_the_kept_mapping(client: TestClient, cadastre_geojson: Path) -> None:
    assert upload(client, "/layers/map-preview-kept/import", cadastre_geojson,
                  kind="concession", mapping=json.dumps(MAPPING)).status_code == 200  # fmt: skip
    report = upload(client, "/layers/map-preview-kept/import/preview", cadastre_geojson).json()
    assert report["exists"] is True and report["mapping_from"] == "layer"
    assert report["unmapped_fields"] == ["granted", "expires", "minerals"]
    assert report["refused_features"] == 0 and report["kept_fields"] == ["Superficie"]


@pytest.mark.parametrize(
    ("mapping", "status", "named"),
    [
        ({"fields": {"owner": "Parties"}}, 400, ["'owner'", "'concession'", "holder"]),
        ({"values": {"title_type": {"PE": "mine"}}}, 400, ["'PE'", "'title_type'", "'mine'",
                                                           "exploitation"]),
        ({"fields": {"holder": "Titulaire"}}, 400, ["'Titulaire'", "'holder'", "Parties"]),
        ({"fields": {"holder": 3}}, 400, ["'holder'"]),
        ({"fields": {}, "valeurs": {}}, 400, ["'valeurs'"]),
        ('{"fields": {"holder": "Parties"', 400, ["not valid JSON"]),
    ],
)  # fmt: skip
def test_bad_mappings_are_refused_by_name(
    client: TestClient,
    engine: Engine,
    cadastre_zip: Path,
    mapping: dict | str,
    status: int,
    named: list[str],
) -> None:
    text_mapping = mapping if isinstance(mapping, str) else json.dumps(mapping)
    before = totals(engine)
    for url in ("/layers/map-bad/import", "/layers/map-bad/import/preview"):
        response = upload(client, url, cadastre_zip, kind="concession", mapping=text_mapping)
        assert response.status_code == status, response.text
        problem = response.json()
        assert response.headers["content-type"] == "application/problem+json"
        for fragment in named:
            assert fragment in problem["detail"], problem["detail"]
        assert problem["where"]["option"] == "mapping"
    assert totals(engine) == before
    assert client.get("/layers/map-bad").status_code == 404


def test_a_bad_mapping_into_an_existing_layer_changes_nothing(
    session: Session, cadastre_geojson: Path
) -> None:
    options = ImportOptions(who=OPERATOR, kind="concession", mapping=parse_mapping(MAPPING))
    import_file(session, "map-atomic", cadastre_geojson, options=options)
    before = counts(session)
    kept = session.scalar(text("SELECT import_mapping FROM layers WHERE slug = 'map-atomic'"))
    bad = {"fields": {"code": "Code"}, "values": {"status": {"Demande": "pending"}}}
    with pytest.raises(InvalidInput) as caught:
        import_file(session, "map-atomic", cadastre_geojson,
                    options=ImportOptions(who=OPERATOR, mapping=parse_mapping(bad)))  # fmt: skip
    assert "'pending'" in str(caught.value) and "application" in str(caught.value)
    # a mapping that passes its checks but leaves values the kind refuses: the import fails
    # whole, and the layer keeps its own mapping
    loose = {"fields": {"title_type": "Licence_"}}
    with pytest.raises(InvalidInput):
        import_file(session, "map-atomic", cadastre_geojson,
                    options=ImportOptions(who=OPERATOR, mapping=parse_mapping(loose)))  # fmt: skip
    assert counts(session) == before
    assert session.scalar(
        text("SELECT import_mapping FROM layers WHERE slug = 'map-atomic'")
    ) == kept == MAPPING  # fmt: skip


def test_values_are_matched_as_text(tmp_path: Path) -> None:
    """Codes arrive as numbers or padded text: 12, 12.0 and ' 12 ' are the same source value."""
    frame = gpd.GeoDataFrame(
        {"Type": [12, 12.0, None], "Etat": [" PE ", "PE", "pr"]},
        geometry=[box(0, 0, 1, 1)] * 3,
        crs=4326,
    )
    mapping = parse_mapping(
        {"fields": {"code": "Type", "title_type": "Etat"},
         "values": {"code": {"12": "T-12"}, "title_type": {"PE": "exploitation", "pr": None}}}
    )  # fmt: skip
    assert mapping is not None
    mapped = apply_mapping(frame, mapping, "f.geojson")
    assert list(mapped.columns) == ["code", "title_type", "geometry"]
    assert mapped["code"].tolist()[:2] == ["T-12", "T-12"]
    assert mapped["title_type"].tolist() == ["exploitation", "exploitation", None]


def test_cli_imports_with_a_mapping_file_and_previews(
    engine: Engine, cadastre_zip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "session_scope", lambda: Session(engine, expire_on_commit=False))
    mapping_file = tmp_path / "cadastre-mapping.json"
    mapping_file.write_text(json.dumps(MAPPING), encoding="utf-8")
    runner = CliRunner()
    base = ["import", str(cadastre_zip), "--layer", "map-cli", "--kind", "concession"]
    before = totals(engine)
    result = runner.invoke(cli.app, [*base, "--mapping", str(mapping_file), "--preview"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["refused_features"] == 0 and report["unmapped_fields"][0] == "granted"
    assert totals(engine) == before
    result = runner.invoke(cli.app, [*base, "--mapping", str(mapping_file)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["imported"] == 5
    with engine.connect() as conn:
        types = conn.execute(
            text("SELECT f.properties ->> 'title_type' FROM features f JOIN layers l "
                 "ON l.id = f.layer_id WHERE l.slug = 'map-cli' ORDER BY f.id")
        ).scalars().all()  # fmt: skip
    assert types == ["exploitation", "exploration", "asm_authorisation",
                     "small_scale_exploitation", "exploitation"]  # fmt: skip
    result = runner.invoke(cli.app, [*base, "--mapping", "nothing-here.json"])
    assert result.exit_code == 2 and "neither JSON nor a file" in result.output
