"""Import speed: the whole `geo-service import` command against `ogr2ogr -f PostgreSQL` on the
same file of 100,000 polygons, into the same database; prints both times and their ratio, and
the command's start-up: `--help`, an import up to reading its file, a whole import of 5 features.

    .venv/bin/python -m bench.imports [--count 100000] [--format gpkg|geojson] [--crs 4326]
                                      [--repeat 3]

Uses GEO_SERVICE_DATABASE_URL when set, else a `geo_bench` database in the embedded cluster
(under GEO_SERVICE_HOME). The polygons are a cadastre's: 12 to 60 vertices each, 3% of them
in two parts, 0.3% self-intersecting (ours repairs them), with text, integer, float (some
missing) and date attributes, in `--crs` (another than 4326 makes ours reproject; ogr2ogr keeps
the file's CRS). Both run as a command in a subprocess, from start-up to exit: ours into a layer
(validating, repairing, auditing, with every trigger of `features`), ogr2ogr into a table of its
own schema `bench_ogr2ogr` with a GiST index. Each side runs `--repeat` times on a vacuumed,
checkpointed database and keeps its best time. The goal: ours <= 1.5x ogr2ogr's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pyogrio
import shapely

from geo_service.db.engine import libpq_url, local_cluster, migrate
from geo_service.settings import get_settings

SLUG = "bench-imports"
OGR_SCHEMA = "bench_ogr2ogr"
COMMAND = Path(sys.executable).with_name("geo-service")
CENTRE, SPREAD = (-8.5, 12.2), (1.1, 0.8)  # lon/lat of the demo region, half-widths
HOLDERS = ["Société Minière du Sahel", "Kankou Gold SARL", "Coopérative de Siby", "Bamako Mining"]
STATUSES = ["active", "application", "expired", "renewal"]


def polygons(count: int, crs: int = 4326, seed: int = 7) -> gpd.GeoDataFrame:
    """`count` irregular polygons (~1-50 ha) over the demo region, with cadastre attributes."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(12, 61, count)  # vertices; shapely closes each ring
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    owner = np.repeat(np.arange(count), sizes)
    angle = 2 * np.pi * (np.arange(len(owner)) - starts[owner]) / sizes[owner]
    radius = rng.uniform(0.0005, 0.004, count)[owner] * rng.uniform(0.8, 1.0, len(owner))
    cx = rng.uniform(CENTRE[0] - SPREAD[0], CENTRE[0] + SPREAD[0], count)
    cy = rng.uniform(CENTRE[1] - SPREAD[1], CENTRE[1] + SPREAD[1], count)
    xy = np.column_stack([cx[owner] + radius * np.cos(angle), cy[owner] + radius * np.sin(angle)])
    # Self-intersecting: the second vertex swapped with the one halfway round.
    bowtie = rng.choice(count, count * 3 // 1000, replace=False)
    one, half = starts[bowtie] + 1, starts[bowtie] + sizes[bowtie] // 2
    xy[one], xy[half] = xy[half].copy(), xy[one].copy()
    geoms = shapely.polygons(shapely.linearrings(xy, indices=owner))
    for i in rng.choice(count, count * 3 // 100, replace=False):
        twin = shapely.transform(geoms[i], lambda c: c + [0.01, 0.0])
        geoms[i] = shapely.multipolygons([geoms[i], twin])
    area = rng.uniform(1, 50, count).round(2)
    area[rng.random(count) < 0.05] = np.nan
    frame = gpd.GeoDataFrame(
        {
            "name": [f"Permis {i}" for i in range(count)],
            "code": [f"PE-{i:06d}" for i in range(count)],
            "holder": rng.choice(HOLDERS, count),
            "status": rng.choice(STATUSES, count),
            "workers": rng.integers(0, 500, count),
            "area_ha": area,
            "granted": pd.Timestamp("2015-01-01")
            + pd.to_timedelta(rng.integers(0, 3650, count), "D"),
        },
        geometry=geoms,
        crs="EPSG:4326",
    )
    return frame if crs == 4326 else frame.to_crs(epsg=crs)


def database() -> str:
    settings = get_settings().db
    if settings.database_url:
        return settings.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    cluster = local_cluster(settings)
    cluster.start()
    return cluster.create_database("geo_bench", drop=True)


def clean(url: str) -> None:
    """Nothing of a previous run left, dead rows vacuumed, dirty pages written out."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("DELETE FROM layers WHERE slug = %s", (SLUG,))
        conn.execute(f"DROP SCHEMA IF EXISTS {OGR_SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA {OGR_SCHEMA}")
        conn.execute("VACUUM ANALYZE features, feature_parts, feature_simplified, audit_log")
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):  # not a superuser
            conn.execute("CHECKPOINT")


def timed(args: list[str], env: dict[str, str], check: bool = True) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(args, env=env, check=check, capture_output=True, text=True)
    return time.perf_counter() - start, done.stdout


def ours(url: str, path: Path, env: dict[str, str], count: int) -> float:
    elapsed, out = timed(
        [str(COMMAND), "import", str(path), "--layer", SLUG, "--kind", "reference"], env
    )
    summary = json.loads(out)
    expected = count - len(summary["rejected"])
    assert summary["imported"] == expected and not summary["rejected"], summary["rejected"][:3]
    return elapsed


def ogr2ogr(url: str, path: Path, env: dict[str, str]) -> float:
    elapsed, _ = timed(
        ["ogr2ogr", "-f", "PostgreSQL", f"PG:{libpq_url(url)}", str(path), "-nln", "parcels",
         "-lco", f"SCHEMA={OGR_SCHEMA}", "-lco", "GEOMETRY_NAME=geom",
         "-lco", "SPATIAL_INDEX=GIST"],
        env,
    )  # fmt: skip
    return elapsed


def start_up(url: str, folder: Path, env: dict[str, str]) -> dict[str, float]:
    """Best of three: `geo-service --help`; an import refused as it starts reading the file (a
    broken GeoJSON: the start-up, up to the file); an import of 5 features into a new layer."""
    small, broken = folder / "small.geojson", folder / "broken.geojson"
    polygons(5).to_file(small, driver="GeoJSON")
    broken.write_text('{"type": "FeatureCollection", "features": [')
    runs: dict[str, list[float]] = {"help": [], "to_reading": [], "small": []}
    for run in range(3):
        runs["help"].append(timed([str(COMMAND), "--help"], env)[0])
        refused = [str(COMMAND), "import", str(broken), "--layer", f"{SLUG}-broken"]
        runs["to_reading"].append(timed(refused, env, check=False)[0])
        layer = f"{SLUG}-small-{run}"
        runs["small"].append(timed([str(COMMAND), "import", str(small), "--layer", layer], env)[0])
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("DELETE FROM layers WHERE slug LIKE %s", (f"{SLUG}-small-%",))
    return {name: min(times) for name, times in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--format", choices=["gpkg", "geojson"], default="gpkg")
    parser.add_argument("--crs", type=int, default=4326, help="EPSG code of the file")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    url = database()
    migrate(url)
    env = {**os.environ, "GEO_SERVICE_DATABASE_URL": url}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"parcels.{args.format}"
        frame = polygons(args.count, args.crs)
        vertices = int(shapely.get_num_coordinates(frame.geometry.array).sum())
        pyogrio.write_dataframe(frame, path, layer="parcels")
        print(
            f"{args.count} polygons ({vertices / args.count:.0f} vertices each on average), "
            f"EPSG:{args.crs}, {path.stat().st_size / 2**20:.1f} MiB {args.format}"
        )
        started = start_up(url, Path(folder), env)
        ogr_times, our_times = [], []
        for _ in range(args.repeat):
            clean(url)
            ogr_times.append(ogr2ogr(url, path, env))
            clean(url)
            our_times.append(ours(url, path, env, args.count))
        clean(url)
    ogr_time, our_time = min(ogr_times), min(our_times)
    print(f"geo-service --help:                         {started['help']:6.2f} s")
    print(f"geo-service import, start-up up to the file:  {started['to_reading']:6.2f} s")
    print(f"geo-service import of 5 features, whole:      {started['small']:6.2f} s")
    print(
        f"ogr2ogr -f PostgreSQL, {args.count} polygons:  {ogr_time:6.2f} s"
        f"  {args.count / ogr_time:7.0f} features/s"
    )
    print(
        f"geo-service import, {args.count} polygons:     {our_time:6.2f} s"
        f"  {args.count / our_time:7.0f} features/s"
    )
    ratio = our_time / ogr_time
    print(
        f"ratio (ours / ogr2ogr): {ratio:.2f}x  (goal <= 1.5x: {'met' if ratio <= 1.5 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
