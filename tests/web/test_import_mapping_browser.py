"""The upload panel's field mapping in headless Chromium: a cadastre's own columns previewed,
mapped to a concession's fields and values by choosing in the panel, imported as typed titles
(read back from the OGC API), the mapping kept with the layer and shown again for the next file;
a zip of two Shapefiles asks which one, or imports each as its own layer; French throughout."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pyogrio

from tests.conftest import bearer
from tests.io.conftest import in_folder, shapefile_parts, write_zip
from tests.io.test_mapping import cadastre


def _cadastre_zip(tmp_path: Path, two: bool = False) -> Path:
    parts = shapefile_parts(tmp_path / "shp", "titres", cadastre())
    members = in_folder("Cadastre_2025/SHP", "titres", parts)
    if two:
        demandes = shapefile_parts(tmp_path / "shp2", "demandes", cadastre(2))
        members.update(in_folder("Cadastre_2025/SHP", "demandes", demandes))
    return write_zip(tmp_path / ("cadastre-2.zip" if two else "cadastre.zip"), members)


def _choose(page, path: Path, slug: str, kind: str = "concession") -> None:
    page.click('[data-tab="research"]')
    page.set_input_files("#upload-file", path)
    page.fill("#upload-slug", slug)
    page.select_option("#upload-kind", kind)


def _shown(page) -> None:
    """Wait until the panel has drawn the preview just answered: the preview button is busy from
    the request until then. (A wait for "networkidle" returns at once once the page has been
    idle, and the panel was sometimes read before it was redrawn.)"""
    page.wait_for_selector("#upload-preview:not(.busy)")


def _preview(page) -> None:
    with page.expect_response(lambda r: r.url.endswith("/import/preview")) as answer:
        page.click("#upload-preview")
    assert answer.value.status in (200, 400), answer.value.text()
    _shown(page)


def test_map_a_cadastre_in_the_panel_and_import_typed_titles(
    page, tmp_path: Path, live_server: str, keys
) -> None:
    slug = f"cadastre-{uuid.uuid4().hex[:6]}"
    _choose(page, _cadastre_zip(tmp_path), slug)
    _preview(page)
    mapping = page.locator("#upload-mapping")
    assert mapping.is_visible()
    assert "5 features; 0 would be refused" in mapping.inner_text()
    assert "Kept as they are: Code, Parties, Licence_, Status, Superficie" in mapping.inner_text()

    # Map the fields: each choice asks the server again, which lists the chosen field's values.
    for field, source in {"code": "Code", "holder": "Parties", "title_type": "Licence_",
                          "status": "Status"}.items():  # fmt: skip
        with page.expect_response(lambda r: r.url.endswith("/import/preview")):
            page.select_option(f"#upload-map-{field}", source)
        _shown(page)
    values = page.locator('.mapping-value-list li[data-value="ARPC"]')
    assert "refused" in (values.get_attribute("class") or "")
    assert "(1)" in values.inner_text()
    assert "would be refused" in mapping.inner_text()
    choices = {
        "title_type": {"PE": "exploitation", "PR": "exploration", "ARPC": "asm_authorisation",
                       "AECP": "small_scale_exploitation"},
        "status": {"Droit Octroyé PR->PE": "active", "Droit Octroyé": "active",
                   "En cours": "renewal", "Demande": "application"},
    }  # fmt: skip
    for field, table in choices.items():
        for source, value in table.items():
            selector = f'select[data-value-of="{field}"][data-value="{source}"]'
            page.select_option(selector, value)
    page.click("#upload-go")
    page.locator(".import-summary", has_text=slug).wait_for()
    assert page.locator(".import-summary").inner_text() == f"5 features imported into layer {slug}."

    editor = bearer(keys["editor"])
    features = httpx.get(
        f"{live_server}/collections/{slug}/items", headers=editor, params={"limit": 50}
    ).json()["features"]
    typed = {f["properties"]["code"]: f["properties"] for f in features}
    assert typed["PE-100"]["title_type"] == "exploitation"
    assert typed["PR-101"]["title_type"] == "exploration"
    assert typed["ARPC-102"]["title_type"] == "asm_authorisation"
    assert typed["AECP-103"]["status"] == "application"
    assert typed["PE-100"]["holder"] == "Société Minière de Kédougou"
    kept = httpx.get(f"{live_server}/layers/{slug}", headers=editor).json()["import_mapping"]
    assert kept["values"]["title_type"] == choices["title_type"]

    # The next file for the same layer starts from the mapping kept with it.
    _choose(page, _cadastre_zip(tmp_path / "next"), slug)
    _preview(page)
    assert page.input_value("#upload-map-title_type") == "Licence_"
    assert page.input_value('select[data-value-of="title_type"][data-value="PE"]') == "exploitation"
    assert "The mapping kept with the layer is shown." in mapping.inner_text()


def test_a_zip_of_two_shapefiles_asks_which_or_takes_each(
    page, console, tmp_path: Path, live_server: str, keys
) -> None:
    console.expect("status of 400")  # the import asked which Shapefile
    slug = f"cad-{uuid.uuid4().hex[:6]}"
    _choose(page, _cadastre_zip(tmp_path, two=True), slug, kind="reference")
    with page.expect_response(lambda r: r.url.endswith(f"/layers/{slug}/import")) as answer:
        page.click("#upload-go")
    assert answer.value.status == 400
    page.locator("#upload-table").wait_for()
    options = page.locator("#upload-table option").all_inner_texts()
    assert options == ["Cadastre_2025/SHP/titres.shp", "Cadastre_2025/SHP/demandes.shp"]
    assert page.locator(".message-error").first.inner_text().count("Shapefiles") >= 1
    page.locator(".message-error .close").first.click()

    page.check("#upload-each-table")
    with page.expect_response(lambda r: r.url.endswith(f"/layers/{slug}/import")) as answer:
        page.click("#upload-go")
    assert answer.value.status == 200, answer.value.text()
    summaries = page.locator(".import-summary")
    summaries.nth(1).wait_for()
    assert summaries.all_inner_texts() == [
        f"5 features imported into layer {slug}-titres.",
        f"2 features imported into layer {slug}-demandes.",
    ]
    editor = bearer(keys["editor"])
    for layer, count in ((f"{slug}-titres", 5), (f"{slug}-demandes", 2)):
        assert (
            httpx.get(f"{live_server}/layers/{layer}", headers=editor).json()["feature_count"]
            == count
        )


def test_the_mapping_panel_speaks_french(open_map, tmp_path: Path) -> None:
    page = open_map("editor", lang="fr")
    path = tmp_path / "cadastre.geojson"
    pyogrio.write_dataframe(cadastre(), path, driver="GeoJSON")
    _choose(page, path, f"fr-{uuid.uuid4().hex[:6]}")
    assert page.locator("#upload-preview").inner_text() == "Aperçu des champs"
    _preview(page)
    with page.expect_response(lambda r: r.url.endswith("/import/preview")):
        page.select_option("#upload-map-title_type", "Licence_")
    _shown(page)
    text = page.locator("#upload-mapping").inner_text()
    assert "Champs du fichier" in text and "seraient refusées" in text
    assert "Type de titre" in text and "(telle quelle)" in text
    refused = page.locator('.mapping-value-list li[data-value="ARPC"] .why').inner_text()
    assert refused.startswith("refusée") and "exploitation" in refused
    assert json.loads(page.evaluate("JSON.stringify(app.research.mapping.mapping())"))[
        "fields"
    ] == {"title_type": "Licence_"}
