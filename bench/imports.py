"""Import throughput: our `import_file` against `ogr2ogr -f PostgreSQL` on the same GeoPackage
of 100,000 polygons, into the same database; prints features/s and the ratio of times.

    .venv/bin/python -m bench.imports [--count 100000]

Uses GEO_SERVICE_DATABASE_URL when set, else a `geo_bench` database in the embedded cluster.
Both sides load into an indexed table in one transaction; ours also validates every geometry
and attribute on the way. The goal: our time <= 1.5x ogr2ogr's.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import psycopg
import pyogrio
import shapely
from sqlalchemy.orm import Session

from geo_service.db.engine import local_cluster, make_engine, migrate
from geo_service.io.load import import_file
from geo_service.settings import get_settings

SLUG = "bench-imports"


def polygons(count: int, seed: int = 7) -> gpd.GeoDataFrame:
    """`count` irregular hexagons (~1-50 ha) scattered over the demo region, with attributes."""
    rng = np.random.default_rng(seed)
    cx = rng.uniform(-9.6, -7.4, count)
    cy = rng.uniform(11.4, 13.0, count)
    radius = rng.uniform(0.0005, 0.004, (count, 1)) * rng.uniform(0.7, 1.0, (count, 6))
    angles = np.linspace(0, 2 * np.pi, 7)[:-1]
    xs = cx[:, None] + radius * np.cos(angles)
    ys = cy[:, None] + radius * np.sin(angles)
    rings = np.stack([xs, ys], axis=2)
    rings = np.concatenate([rings, rings[:, :1]], axis=1)
    geoms = shapely.polygons(rings)
    return gpd.GeoDataFrame(
        {
            "name": [f"Parcel {i}" for i in range(count)],
            "code": [f"P-{i:06d}" for i in range(count)],
            "workers": rng.integers(0, 500, count),
            "status": rng.choice(["active", "inactive", "seasonal"], count),
        },
        geometry=geoms,
        crs="EPSG:4326",
    )


def database() -> str:
    settings = get_settings().db
    if settings.database_url:
        return settings.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    cluster = local_cluster(settings)
    cluster.start()
    return cluster.create_database("geo_bench", drop=True)


def ours(url: str, path: Path) -> float:
    engine = make_engine(url, pool_size=1)
    with Session(engine) as session:
        start = time.perf_counter()
        summary = import_file(session, SLUG, path)
        session.commit()
        elapsed = time.perf_counter() - start
    engine.dispose()
    assert summary["rejected"] == [], summary["rejected"][:3]
    return elapsed


def ogr2ogr(url: str, path: Path) -> float:
    libpq = url.replace("postgresql+psycopg://", "postgresql://", 1)
    start = time.perf_counter()
    subprocess.run(
        ["ogr2ogr", "-f", "PostgreSQL", f"PG:{libpq}", str(path), "-nln", "bench_ogr2ogr",
         "-overwrite", "-lco", "GEOMETRY_NAME=geom", "-lco", "SPATIAL_INDEX=GIST"],
        check=True,
    )  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    url = database()
    migrate(url)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "parcels.gpkg"
        pyogrio.write_dataframe(polygons(args.count), path, layer="parcels")
        print(f"{args.count} polygons, {path.stat().st_size / 2**20:.1f} MiB GeoPackage")
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
            conn.execute("DELETE FROM layers WHERE slug = %s", (SLUG,))
            conn.execute("DROP TABLE IF EXISTS bench_ogr2ogr")
        ogr_time = ogr2ogr(url, path)
        our_time = ours(url, path)
    print(f"ogr2ogr -f PostgreSQL: {ogr_time:6.2f} s  {args.count / ogr_time:9.0f} features/s")
    print(f"geo-service import:    {our_time:6.2f} s  {args.count / our_time:9.0f} features/s")
    ratio = our_time / ogr_time
    print(
        f"ratio (ours / ogr2ogr): {ratio:.2f}x  (goal <= 1.5x: {'met' if ratio <= 1.5 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
