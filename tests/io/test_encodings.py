"""Text in old encodings: .dbf files with and without .cpg, the `encoding` option over them, and
GeoJSON, CSV and KML that are not UTF-8 (refused with the offset of the first bad byte, or
decoded with `encoding`). Accepted text is checked character for character."""

from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.domain.access import OPERATOR
from geo_service.errors import BrokenFile, GeoServiceError, InvalidInput
from geo_service.io.encodings import dbf_encoding
from geo_service.io.load import ImportOptions, import_file
from tests.io.conftest import counts, in_folder, shapefile_parts, write_zip

COMPANY = "Société Minière de Kédougou"
QUOTED = "Œuvre « l’Orpailleur » – Sédhiou"  # cp1252 only: Œ ’ – are not in ISO-8859-1


def stored(session: Session, slug: str) -> list[tuple[str | None, dict]]:
    """(name, properties) per feature of layer `slug`, in file order."""
    rows = session.execute(
        text(
            "SELECT f.name, f.properties FROM features f JOIN layers l ON l.id = f.layer_id "
            "WHERE l.slug = :s ORDER BY f.id"
        ),
        {"s": slug},
    )
    return [(r[0], r[1]) for r in rows]


def load(session: Session, slug: str, path: Path, encoding: str | None = None) -> list[tuple]:
    import_file(session, slug, path, options=ImportOptions(who=OPERATOR, encoding=encoding))
    return stored(session, slug)


def refused(
    session: Session, path: Path, error: type[GeoServiceError], encoding: str | None = None
) -> GeoServiceError:
    """Import `path`, which must fail with `error` and leave the database as it was."""
    before = counts(session)
    with pytest.raises(error) as caught:
        load(session, "io-refused", path, encoding)
    assert counts(session) == before
    return caught.value


def sites(names: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"nom": names, "Région": ["Kédougou"] * len(names)},
        geometry=[shapely.Point(-12.2 + i / 10, 12.6) for i in range(len(names))],
        crs=4326,
    )


def zipped_shapefile(
    tmp_path: Path, frame: gpd.GeoDataFrame, encoding: str, cpg: str | None
) -> Path:
    """A zipped Shapefile whose .dbf is in `encoding`, with a .cpg saying `cpg` (or none)."""
    parts = shapefile_parts(tmp_path / encoding, "sites", frame, encoding=encoding)
    parts.pop(".cpg", None)
    if cpg is not None:
        parts[".cpg"] = cpg.encode("ascii")
    return write_zip(tmp_path / f"sites-{encoding}-{cpg}.zip", in_folder("SIG", "sites", parts))


@pytest.mark.parametrize("cpg", ["ISO-8859-1", "LATIN1", None])
def test_latin1_dbf_with_or_without_cpg(session: Session, tmp_path: Path, cpg: str | None) -> None:
    """With a .cpg GDAL decodes as it says; without one (and no language driver in the DBF
    header, which pyogrio leaves empty) as the bytes fit: not UTF-8, so CP1252, whose letters
    are ISO-8859-1's."""
    path = zipped_shapefile(tmp_path, sites([COMPANY]), "latin1", cpg)
    assert load(session, "io-enc-latin1", path) == [
        (COMPANY, {"nom": COMPANY, "Région": "Kédougou"})
    ]


def test_cp1252_dbf_with_an_arcgis_cpg(session: Session, tmp_path: Path) -> None:
    """ArcGIS writes the Windows code page number alone in the .cpg."""
    path = zipped_shapefile(tmp_path, sites([COMPANY, QUOTED]), "cp1252", "1252")
    assert [name for name, _ in load(session, "io-enc-1252", path)] == [COMPANY, QUOTED]


def test_encoding_option_over_what_the_file_says(session: Session, tmp_path: Path) -> None:
    # no .cpg: GDAL's ISO-8859-1 would turn cp1252's quotes into control characters
    path = zipped_shapefile(tmp_path, sites([QUOTED]), "cp1252", None)
    assert load(session, "io-enc-opt", path, encoding="cp1252")[0][0] == QUOTED
    # a .cpg that lies: its UTF-8 cannot decode the bytes, and the error says where
    ascii_names = sites(["Site A", COMPANY]).drop(columns="Région")
    lying = zipped_shapefile(tmp_path, ascii_names, "latin1", "UTF-8")
    error = refused(session, lying, BrokenFile)
    assert "feature 1, field 'nom' is not valid utf-8 (byte 0xE9)" in str(error)
    assert "`encoding` option" in str(error)
    assert error.where == {"file": lying.name, "index": 1, "field": "nom", "encoding": "utf-8"}
    assert load(session, "io-enc-lying", lying, encoding="latin-1")[1][0] == COMPANY
    # Python's codecs decode, so encodings GDAL's iconv does not know by that name work too:
    # Mac OS Roman, written here byte for byte through ISO-8859-1 (0x8E is its é)
    mac = zipped_shapefile(tmp_path, sites(["Soci\x8et\x8e"]), "latin1", None)
    assert load(session, "io-enc-mac", mac, encoding="mac_roman")[0][0] == "Société"


def test_utf8_dbf_with_its_cpg(session: Session, tmp_path: Path) -> None:
    path = zipped_shapefile(tmp_path, sites([COMPANY, QUOTED]), "UTF-8", "UTF-8")
    rows = load(session, "io-enc-utf8", path)
    assert [name for name, _ in rows] == [COMPANY, QUOTED]
    assert rows[0][1]["Région"] == "Kédougou"


def geojson(names: list[str]) -> str:
    features = ",".join(
        f'{{"type":"Feature","properties":{{"nom":"{n}"}},'
        f'"geometry":{{"type":"Point","coordinates":[{-12 + i},12.6]}}}}'
        for i, n in enumerate(names)
    )
    return f'{{"type":"FeatureCollection","features":[{features}]}}'


def test_cp1252_geojson_is_refused_then_decoded(session: Session, tmp_path: Path) -> None:
    content = geojson(["Kédougou ok", QUOTED]).encode("cp1252")
    path = tmp_path / "sites.geojson"
    path.write_bytes(content)
    error = refused(session, path, BrokenFile)
    offset = content.index("é".encode("cp1252"))
    assert error.where == {"file": "sites.geojson", "offset": offset, "encoding": "utf-8"}
    assert f"byte 0xE9 at offset {offset}" in str(error)
    assert "RFC 7946" in str(error) and "`encoding` option (e.g. latin-1, cp1252)" in str(error)
    assert [name for name, _ in load(session, "io-enc-json", path, "cp1252")] == [
        "Kédougou ok",
        QUOTED,
    ]


def test_latin1_csv_is_refused_then_decoded(session: Session, tmp_path: Path) -> None:
    content = f"nom,lon,lat\nSite A,-12.2,12.6\n{COMPANY},-12.1,12.7\n".encode("latin-1")
    path = tmp_path / "sites.csv"
    path.write_bytes(content)
    offset = content.index("é".encode("latin-1"))
    assert f"at offset {offset}" in str(refused(session, path, BrokenFile))
    assert [name for name, _ in load(session, "io-enc-csv", path, "latin-1")] == [
        "Site A",
        COMPANY,
    ]


def kml(declaration: str) -> str:
    return (
        f'<?xml version="1.0"{declaration}?><kml xmlns="http://www.opengis.net/kml/2.2">'
        f"<Document><Placemark><name>{QUOTED}</name>"
        "<Point><coordinates>-12.2,12.6</coordinates></Point></Placemark></Document></kml>"
    )


def test_kml_encodings(session: Session, tmp_path: Path) -> None:
    undeclared = tmp_path / "undeclared.kml"
    undeclared.write_bytes(kml("").encode("cp1252"))
    assert "not valid UTF-8" in str(refused(session, undeclared, BrokenFile))
    assert load(session, "io-enc-kml-opt", undeclared, "cp1252")[0][0] == QUOTED
    # declared: honoured, even windows-1252, which GDAL's XML parser does not know
    declared = tmp_path / "declared.kml"
    declared.write_bytes(kml(' encoding="windows-1252"').encode("cp1252"))
    assert load(session, "io-enc-kml-declared", declared)[0][0] == QUOTED


def test_utf16_and_unknown_encodings(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text(f"nom,lon,lat\n{COMPANY},-12.1,12.7\n", encoding="utf-16")
    assert "pass encoding utf-16" in str(refused(session, path, BrokenFile))
    assert load(session, "io-enc-utf16", path, "utf-16")[0][0] == COMPANY
    error = refused(session, path, InvalidInput, encoding="klingon")
    assert error.where == {"encoding": "klingon"}
    refused(session, path, InvalidInput, encoding="base64")  # a codec, but not of text


def test_wrong_encoding_given_for_a_text_file(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "sites.geojson"
    path.write_bytes(geojson([COMPANY]).encode("latin-1"))
    error = refused(session, path, BrokenFile, encoding="utf-8")
    assert "cannot be decoded as utf-8: byte 0xE9" in str(error)


def test_cp1252_dbf_without_cpg_is_detected(session: Session, tmp_path: Path) -> None:
    """Œ ’ – are bytes 0x8C 0x92 0x96 in CP1252 and control characters in ISO-8859-1."""
    path = zipped_shapefile(tmp_path, sites([QUOTED, COMPANY]), "cp1252", None)
    assert [name for name, _ in load(session, "io-enc-guess-1252", path)] == [QUOTED, COMPANY]


def test_utf8_dbf_without_cpg_is_detected(session: Session, tmp_path: Path) -> None:
    path = zipped_shapefile(tmp_path, sites([COMPANY, QUOTED]), "UTF-8", None)
    rows = load(session, "io-enc-guess-utf8", path)
    assert [name for name, _ in rows] == [COMPANY, QUOTED]
    assert rows[0][1]["Région"] == "Kédougou"  # a field name is text too


def test_cpg_is_honoured_over_the_bytes(session: Session, tmp_path: Path) -> None:
    """UTF-8 bytes under a .cpg saying 1252 are read as CP1252: the .cpg is the file's word."""
    path = zipped_shapefile(tmp_path, sites([COMPANY]), "UTF-8", "1252")
    assert load(session, "io-enc-cpg-wins", path)[0][0] == COMPANY.encode().decode("cp1252")
    assert load(session, "io-enc-cpg-given", path, encoding="utf-8")[0][0] == COMPANY


@pytest.mark.parametrize(
    ("text", "encoding", "guessed"),
    [("Kédougou", "utf-8", "utf-8"), ("Kédougou – Œuvre", "cp1252", "cp1252"),
     ("Kédougou §", "latin1", "iso8859-1"), ("Kenieba", "ascii", "utf-8")],
)  # fmt: skip
def test_dbf_encoding_guesses(tmp_path: Path, text: str, encoding: str, guessed: str) -> None:
    frame = sites([text]).drop(columns="Région")
    raw = shapefile_parts(tmp_path / "g", "g", frame, encoding=encoding)[".dbf"]
    assert text.encode(encoding) in raw
    # 0x81 is no CP1252 character (GDAL will not write it): only ISO-8859-1 decodes it
    raw = raw.replace("§".encode("latin-1"), b"\x81")
    assert dbf_encoding(io.BytesIO(raw)) == guessed
    assert dbf_encoding(io.BytesIO(raw[:29] + b"\x4d" + raw[30:])) is None  # LDID: cp936
