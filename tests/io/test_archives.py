"""Zipped Shapefiles as official downloads come: in folders, several per zip, upper-case
suffixes, Windows paths; and the archives refused before GDAL opens them (zip slip, symbolic
links, encryption, corrupt directories, zip bombs), each naming the entry, nothing written."""

from __future__ import annotations

import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import box
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.domain.access import OPERATOR
from geo_service.errors import (
    BrokenFile,
    GeoServiceError,
    InvalidInput,
    PayloadTooLarge,
    UnsupportedFormat,
)
from geo_service.io.archive import member_names
from geo_service.io.load import ImportOptions, import_file
from geo_service.settings import ImportSettings, get_settings
from tests.io.conftest import (
    CUSTOM_TM,
    counts,
    geodesic_ha,
    in_folder,
    lonlat_polygons,
    shapefile_parts,
    tm_polygons,
    write_zip,
)


def names(session: Session, slug: str) -> list[str]:
    return list(
        session.scalars(
            text(
                "SELECT f.name FROM features f JOIN layers l ON l.id = f.layer_id "
                "WHERE l.slug = :s ORDER BY f.id"
            ),
            {"s": slug},
        )
    )


def options(**kwargs: Any) -> ImportOptions:
    return ImportOptions(who=OPERATOR, **kwargs)


@pytest.fixture
def titres(tmp_path: Path) -> dict[str, bytes]:
    """The mining titles (custom TM .prj, no EPSG code) as Shapefile parts."""
    return shapefile_parts(tmp_path / "titres", "titres", tm_polygons())


@pytest.fixture
def zones(tmp_path: Path) -> dict[str, bytes]:
    """Two ASM zones in EPSG:4326 as Shapefile parts."""
    return shapefile_parts(tmp_path / "zones", "zones", lonlat_polygons())


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Lower the zip limits through their environment variables for one test."""
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def refused(
    session: Session, path: Path, error: type[GeoServiceError], **kwargs: Any
) -> GeoServiceError:
    """Import `path`, which must fail with `error` and leave the database as it was."""
    before = counts(session)
    with pytest.raises(error) as caught:
        import_file(session, "io-refused", path, options=options(**kwargs))
    assert counts(session) == before
    return caught.value


def test_shapefile_in_nested_folders(session: Session, tmp_path: Path, titres: dict) -> None:
    members = in_folder("Cadastre Minier 2024/SHP", "titres", titres)
    members["Cadastre Minier 2024/LISEZMOI.txt"] = b"Titres miniers, projection locale"
    path = write_zip(tmp_path / "cadastre.zip", members)
    summary = import_file(session, "io-zip-nested", path, options=options(kind="concession"))
    assert summary["imported"] == 3
    assert names(session, "io-zip-nested") == ["Kéniéba", "Sadiola", "Loulo"]
    area = session.scalar(
        text(
            "SELECT ST_Area(f.geom::geography) / 10000 FROM features f "
            "JOIN layers l ON l.id = f.layer_id WHERE l.slug = 'io-zip-nested' ORDER BY f.id"
        )
    )
    # the .prj beside the .shp was read: the 1 km square is ~100 ha, as pyproj says
    assert area == pytest.approx(geodesic_ha(tm_polygons().geometry[0], CUSTOM_TM), rel=1e-3)


def test_several_shapefiles_are_listed_then_chosen(
    session: Session, tmp_path: Path, titres: dict, zones: dict
) -> None:
    members = {**in_folder("titres", "titres", titres), **in_folder("", "ZONES", zones, upper=True)}
    path = write_zip(tmp_path / "download.zip", members)
    error = refused(session, path, InvalidInput)
    assert "2 Shapefiles" in str(error) and "titres/titres.shp" in str(error)
    assert "ZONES.SHP" in str(error) and "`table`" in str(error)
    assert error.extra == {"tables": ["titres/titres.shp", "ZONES.SHP"]}
    error = refused(session, path, InvalidInput, table="parcelles")
    assert "no Shapefile 'parcelles'" in str(error) and "ZONES.SHP" in str(error)

    # by base name, in any case, and upper-case .SHP/.DBF/.SHX/.PRJ are read
    import_file(session, "io-zip-zones", path, options=options(table="zones"))
    assert names(session, "io-zip-zones") == ["Zone A", "Zone B"]
    # by path inside the zip, with or without the suffix, either slash
    import_file(session, "io-zip-titres", path, options=options(table="titres\\titres.shp"))
    assert names(session, "io-zip-titres") == ["Kéniéba", "Sadiola", "Loulo"]


def test_same_name_in_two_folders_needs_the_path(
    session: Session, tmp_path: Path, titres: dict
) -> None:
    newer = tm_polygons().iloc[[0]].assign(NOM="Kéniéba 2024")
    parts_2024 = shapefile_parts(tmp_path / "2024", "titres", newer)
    members = {**in_folder("2023", "titres", titres), **in_folder("2024", "titres", parts_2024)}
    path = write_zip(tmp_path / "titres.zip", members)
    error = refused(session, path, InvalidInput, table="titres")
    assert "2 Shapefiles named 'titres'" in str(error)
    assert "2023/titres.shp, 2024/titres.shp" in str(error)
    import_file(session, "io-zip-2024", path, options=options(table="2024/titres"))
    # the .dbf read is the one beside the chosen .shp
    assert names(session, "io-zip-2024") == ["Kéniéba 2024"]


def test_sidecars_must_be_beside_the_shapefile(
    session: Session, tmp_path: Path, titres: dict
) -> None:
    members = in_folder("data", "titres", {s: titres[s] for s in (".shp", ".shx", ".prj")})
    members["titres.dbf"] = titres[".dbf"]  # at the root, not beside data/titres.shp
    error = refused(session, write_zip(tmp_path / "partial.zip", members), BrokenFile)
    assert "'data/titres.shp' has no .dbf beside it" in str(error)
    assert error.where == {"file": "partial.zip", "entry": "data/titres.shp"}


def test_windows_zip_with_backslashes_and_oem_names(
    session: Session, tmp_path: Path, titres: dict
) -> None:
    """Windows' own zip tool writes backslashes and names in the OEM code page (cp850 in
    France) without the UTF-8 flag; zipfile and GDAL both read such names as cp437."""
    path = tmp_path / "windows.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for suffix, data in titres.items():
            archive.writestr(f"DonnXes\\titres{suffix}", data)
    path.write_bytes(path.read_bytes().replace(b"DonnXes", "Données".encode("cp850")))
    assert member_names(path, "windows.zip")[0] == "Données/titres.cpg"
    import_file(session, "io-zip-windows", path, options=options())
    assert names(session, "io-zip-windows") == ["Kéniéba", "Sadiola", "Loulo"]


def test_macos_resource_forks_are_no_shapefiles(
    session: Session, tmp_path: Path, titres: dict
) -> None:
    members = in_folder("titres", "titres", titres)
    members["__MACOSX/titres/._titres.shp"] = b"\x00\x05\x16\x07 AppleDouble"
    summary = import_file(
        session, "io-zip-mac", write_zip(tmp_path / "mac.zip", members), options=options()
    )
    assert summary["imported"] == 3


def test_zip_without_shapefile(session: Session, tmp_path: Path) -> None:
    path = write_zip(tmp_path / "photos.zip", {"site.jpg": b"\xff\xd8", "notes.txt": b"x"})
    error = refused(session, path, UnsupportedFormat)
    assert "holds no Shapefile" in str(error) and "site.jpg" in str(error)


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("../../etc/cron.d/evil.shp", "climbs out of the archive"),
        ("data/../../evil.txt", "climbs out of the archive"),
        ("..\\..\\Windows\\evil.dll", "climbs out of the archive"),
        ("/etc/passwd", "is an absolute path"),
        ("\\\\server\\share\\evil.txt", "is an absolute path"),
        ("C:/Windows/evil.dll", "starts with a drive letter"),
        ("C:evil.dll", "starts with a drive letter"),
    ],
)
def test_entries_that_escape_are_refused(
    session: Session, tmp_path: Path, titres: dict, entry: str, reason: str
) -> None:
    members = {**in_folder("", "titres", titres), entry: b"payload"}
    error = refused(session, write_zip(tmp_path / "slip.zip", members), InvalidInput)
    assert f"its entry '{entry}' {reason}" in str(error)
    assert error.where == {"file": "slip.zip", "entry": entry}


def test_symbolic_link_entries_are_refused(session: Session, tmp_path: Path, titres: dict) -> None:
    path = write_zip(tmp_path / "link.zip", in_folder("", "titres", titres))
    with zipfile.ZipFile(path, "a") as archive:
        link = zipfile.ZipInfo("titres.prj.lnk")
        link.create_system = 3  # Unix, where the mode bits say "link"
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/shadow")
    error = refused(session, path, InvalidInput)
    assert "'titres.prj.lnk' is a symbolic link" in str(error)


def test_encrypted_entries_are_refused(session: Session, tmp_path: Path, titres: dict) -> None:
    """zipfile writes no encryption: the flag a password-protected entry carries is set in its
    local header and its central directory record."""
    path = write_zip(tmp_path / "secret.zip", in_folder("", "titres", titres))
    with zipfile.ZipFile(path) as archive:
        local = archive.getinfo("titres.dbf").header_offset
    data = bytearray(path.read_bytes())
    central = data.index(b"PK\x01\x02")
    while data[central + 46 : central + 56] != b"titres.dbf":
        central = data.index(b"PK\x01\x02", central + 4)
    data[local + 6] |= 0x1
    data[central + 8] |= 0x1
    path.write_bytes(bytes(data))
    error = refused(session, path, BrokenFile)
    assert "'titres.dbf' is encrypted" in str(error)


def test_corrupt_archives_are_refused(session: Session, tmp_path: Path, titres: dict) -> None:
    good = write_zip(tmp_path / "good.zip", in_folder("", "titres", titres)).read_bytes()
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(good[: len(good) // 2])  # a download cut short
    assert "no end of central directory" in str(refused(session, truncated, BrokenFile))
    mangled = tmp_path / "mangled.zip"
    directory = good.rindex(b"PK\x01\x02")  # the last central directory record
    mangled.write_bytes(good[:directory] + b"XX\x01\x02" + good[directory + 4 :])
    assert "not a readable zip archive" in str(refused(session, mangled, BrokenFile))


def test_too_many_entries(
    session: Session, tmp_path: Path, titres: dict, limits: pytest.MonkeyPatch
) -> None:
    limits.setenv("GEO_SERVICE_ZIP_MAX_ENTRIES", "5")
    path = write_zip(tmp_path / "many.zip", in_folder("", "titres", titres))  # 5 parts
    import_file(session, "io-zip-five", path, options=options())
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("extra.txt", b"one too many")
    error = refused(session, path, PayloadTooLarge)
    assert "holds 6 entries; at most 5" in str(error) and "'extra.txt'" in str(error)
    # the same limit given explicitly
    with pytest.raises(PayloadTooLarge):
        member_names(path, "many.zip", ImportSettings(zip_max_entries=3))


def test_too_large_once_expanded(
    session: Session, tmp_path: Path, titres: dict, limits: pytest.MonkeyPatch
) -> None:
    limits.setenv("GEO_SERVICE_ZIP_MAX_EXPANDED_MB", "1")
    members = {**in_folder("", "titres", titres), "padding.bin": bytes(2**20)}
    error = refused(session, write_zip(tmp_path / "big.zip", members), PayloadTooLarge)
    assert "expands to more than 1 MiB" in str(error) and "'padding.bin'" in str(error)


def test_extreme_compression_ratio(session: Session, tmp_path: Path, titres: dict) -> None:
    """Default limits: 4 MiB of zeros deflate about 1000:1, past the 500:1 accepted."""
    members = {**in_folder("", "titres", titres), "titres.sbn": bytes(4 * 2**20)}
    path = write_zip(tmp_path / "bomb.zip", members)
    assert path.stat().st_size < 20_000
    error = refused(session, path, PayloadTooLarge)
    assert "looks like a zip bomb" in str(error) and "'titres.sbn'" in str(error)
    # a real attribute table with a wide blank field is far below the ratio
    blank = gpd.GeoDataFrame(
        {"code": [f"T-{i}" for i in range(20_000)], "note": [" " * 200] * 20_000},
        geometry=[shapely.Point(-8.5, 12)] * 20_000,
        crs=4326,
    )
    parts = shapefile_parts(tmp_path / "wide", "wide", blank)
    assert len(parts[".dbf"]) > 2**20  # large enough for its ratio to be checked
    summary = import_file(
        session, "io-zip-wide", write_zip(tmp_path / "wide.zip", in_folder("", "wide", parts)),
        options=options(),
    )  # fmt: skip
    assert summary["imported"] == 20_000


def test_mixed_case_suffix_is_explained(session: Session, tmp_path: Path, zones: dict) -> None:
    members = {f"zones.{s[1:].capitalize()}": data for s, data in zones.items()}  # zones.Shp
    error = refused(session, write_zip(tmp_path / "case.zip", members), BrokenFile)
    assert "GDAL cannot open 'zones.Shp'" in str(error)


def test_zip_named_without_suffix(session: Session, tmp_path: Path, zones: dict) -> None:
    """A zip whose name does not end in .zip (a download saved without suffix) is read too."""
    path = write_zip(tmp_path / "download.zip", in_folder("ZA", "zones", zones))
    renamed = path.rename(tmp_path / "download")
    import_file(session, "io-zip-noext", renamed, filename="download.zip", options=options())
    wkt = session.scalar(text("SELECT ST_AsText(geom) FROM features ORDER BY id DESC LIMIT 1"))
    assert shapely.from_wkt(wkt).equals(box(-8.4, 12.1, -8.3, 12.15))


def wdpa_zip(path: Path, tmp_path: Path, points: bool = False) -> Path:
    """An official download as `zip -r` writes it: folder entries, a manual beside the data,
    the Shapefile two folders down (and its points beside it when `points`)."""
    polygons = shapefile_parts(tmp_path / "wdpa", "WDPA_poly", lonlat_polygons())
    members = {"WDPA_Mar2025/": b"", "WDPA_Mar2025/shp/": b"",
               "WDPA_Mar2025/WDPA_Manual.pdf": b"%PDF-1.4",
               **in_folder("WDPA_Mar2025/shp", "WDPA_poly", polygons)}  # fmt: skip
    if points:
        sites = gpd.GeoDataFrame(
            {"name": ["Site 1", "Site 2", "Site 3"]},
            geometry=[shapely.Point(-8.5 + i / 10, 12.05) for i in range(3)],
            crs=4326,
        )
        parts = shapefile_parts(tmp_path / "wdpa", "WDPA_point", sites)
        members.update(in_folder("WDPA_Mar2025/shp", "WDPA_point", parts))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name) if name.endswith("/") else name, data)
    return path


def upload(client: TestClient, slug: str, path: Path, **fields: str):
    with path.open("rb") as f:
        return client.post(f"/layers/{slug}/import", files={"file": (path.name, f)}, data=fields)


def test_official_download_layout_over_http(client: TestClient, tmp_path: Path) -> None:
    """GDAL opens the Shapefile where it is in the zip (/vsizip/{zip}/folder/name.shp): handed
    the zip's root, it would answer 'not recognized as being in a supported file format'."""
    path = wdpa_zip(tmp_path / "WDPA_Mar2025_Public_shp.zip", tmp_path)
    response = upload(client, "zip-wdpa", path)
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 2
    features = client.get("/collections/zip-wdpa/items").json()["features"]
    assert [f["properties"]["name"] for f in features] == ["Zone A", "Zone B"]


def test_two_shapefiles_chosen_each_or_listed(client: TestClient, engine, tmp_path: Path) -> None:
    path = wdpa_zip(tmp_path / "WDPA.zip", tmp_path, points=True)
    with Session(engine) as s:
        before = counts(s)
    listed = upload(client, "wdpa", path)
    assert listed.status_code == 400
    problem = listed.json()
    assert problem["tables"] == [
        "WDPA_Mar2025/shp/WDPA_poly.shp",
        "WDPA_Mar2025/shp/WDPA_point.shp",
    ]
    assert "2 Shapefiles" in problem["detail"] and "`each_table`" in problem["detail"]
    with Session(engine) as s:
        assert counts(s) == before

    chosen = upload(client, "wdpa-points", path, table="WDPA_point")
    assert chosen.status_code == 200 and chosen.json()["imported"] == 3

    each = upload(client, "wdpa", path, each_table="true")
    assert each.status_code == 200, each.text
    assert each.json()["imported"] == 5
    assert [s["layer"] for s in each.json()["layers"]] == ["wdpa_poly", "wdpa_point"]
    assert client.get("/layers/wdpa_poly").json()["feature_count"] == 2
    assert client.get("/layers/wdpa_point").json()["feature_count"] == 3


def test_each_table_is_all_or_nothing(
    session: Session, tmp_path: Path, titres: dict, zones: dict
) -> None:
    members = {**in_folder("2023", "titres", titres), **in_folder("2024", "titres", titres),
               **in_folder("", "ZONES", zones, upper=True)}  # fmt: skip
    path = write_zip(tmp_path / "cadastre.zip", members)
    summary = import_file(session, "cad", path, options=options(each_table=True))
    assert [s["layer"] for s in summary["layers"]] == ["cad-2023-titres", "cad-2024-titres",
                                                       "cad-zones"]  # fmt: skip
    assert names(session, "cad-zones") == ["Zone A", "Zone B"]
    # one Shapefile without its .dbf: refused, and the others are not written either
    members.pop("2024/titres.dbf")
    broken = write_zip(tmp_path / "broken.zip", members)
    error = refused(session, broken, BrokenFile, each_table=True)
    assert "'2024/titres.shp' has no .dbf" in str(error)


def test_each_table_of_a_geopackage(session: Session, geopackage: Path) -> None:
    summary = import_file(session, "survey", geopackage, options=options(each_table=True))
    assert {s["layer"]: s["imported"] for s in summary["layers"]} == {
        "survey-zones": 2, "survey-sites": 2
    }  # fmt: skip
    assert names(session, "survey-sites") == ["Djoulafoundou", "Tabakoto"]
