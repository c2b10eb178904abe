"""Overlap and zone screening in PostGIS against geopandas in-process, on a generated cadastre.

10,000 concessions and 1,000 protected areas of 5,000+ vertices each, in a database of their
own (`geo_bench_analysis`) on the test cluster (var/test) or GEO_SERVICE_BENCH_DATABASE_URL.
geopandas gets its data already in memory (loading is not timed); PostGIS is asked through the
same functions the API calls. Run: `.venv/bin/python -m bench.analysis`.
"""

from __future__ import annotations

import math
import os
import random
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import orjson
import psycopg
from shapely.geometry import Polygon, box, mapping
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_service.analysis.overlap import overlap
from geo_service.analysis.screen import screen
from geo_service.db.engine import make_engine, migrate
from geo_service.db.local import LocalCluster
from geo_service.store import layers as store

ROOT = Path(__file__).resolve().parents[1]
DATABASE = "geo_bench_analysis"
SEED = 4
REGION = (-12.0, 8.0, -2.0, 16.0)  # lon/lat: West Africa's gold belt, roughly
N_CONCESSIONS, N_PARKS, PARK_VERTICES, N_ZONES = 10_000, 1_000, 5_000, 50
EQUAL_AREA = "EPSG:6933"  # geopandas measures areas in an equal-area projection


def _cluster() -> LocalCluster | None:
    if os.environ.get("GEO_SERVICE_BENCH_DATABASE_URL"):
        return None
    cluster = LocalCluster(Path(os.environ.get("GEO_SERVICE_TEST_HOME", ROOT / "var" / "test")))
    cluster.start()
    return cluster


def _park(rng: random.Random) -> Polygon:
    lon, lat = rng.uniform(*REGION[::2]), rng.uniform(*REGION[1::2])
    radius, waves, phase = rng.uniform(0.05, 0.15), rng.randint(5, 15), rng.uniform(0, 6.28)
    return Polygon(
        (
            lon + radius * (1 + 0.15 * math.sin(waves * a + phase)) * math.cos(a),
            lat + radius * (1 + 0.15 * math.sin(waves * a + phase)) * math.sin(a),
        )
        for a in (2 * math.pi * i / PARK_VERTICES for i in range(PARK_VERTICES))
    )


def _concession(rng: random.Random) -> Polygon:
    lon, lat = rng.uniform(*REGION[::2]), rng.uniform(*REGION[1::2])
    return box(lon, lat, lon + rng.uniform(0.02, 0.1), lat + rng.uniform(0.02, 0.1))


def generate(rng: random.Random) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, list[Polygon]]:
    titles = gpd.GeoDataFrame(
        {
            "name": [f"PE-{i}" for i in range(N_CONCESSIONS)],
            "status": [rng.choice(["active", "expired", "application"]) for _ in range(N_CONCESSIONS)],
            "title_type": [rng.choice(["exploitation", "exploration"]) for _ in range(N_CONCESSIONS)],
        },
        geometry=[_concession(rng) for _ in range(N_CONCESSIONS)],
        crs=4326,
    )  # fmt: skip
    parks = gpd.GeoDataFrame(
        {"name": [f"Park {i}" for i in range(N_PARKS)]},
        geometry=[_park(rng) for _ in range(N_PARKS)],
        crs=4326,
    )
    zones = []
    for _ in range(N_ZONES):  # drawn zones of 100-500 ha, 12 vertices
        lon, lat, r = (
            rng.uniform(*REGION[::2]),
            rng.uniform(*REGION[1::2]),
            rng.uniform(0.005, 0.01),
        )
        zones.append(
            Polygon((lon + r * math.cos(a), lat + r * math.sin(a)) for a in (i * math.pi / 6 for i in range(12)))
        )  # fmt: skip
    return titles, parks, zones


def load(url: str, titles: gpd.GeoDataFrame, parks: gpd.GeoDataFrame) -> float:
    """COPY both layers in (the trigger subdivides the parks); seconds taken."""
    engine = make_engine(url, pool_size=1)
    with Session(engine) as session:
        ids = {
            "bench-titles": store.create_layer(session, "bench-titles", kind="concession").id,
            "bench-parks": store.create_layer(
                session, "bench-parks", kind="reference", theme="protected_area"
            ).id,
        }
        session.commit()
    engine.dispose()
    started = time.perf_counter()
    libpq = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(libpq) as conn, conn.cursor() as cur:
        for slug, frame in (("bench-titles", titles), ("bench-parks", parks)):
            with cur.copy(
                "COPY features (layer_id, name, properties, geom) FROM STDIN"
            ) as copy:  # fmt: skip
                for row in frame.itertuples(index=False):
                    props = {k: v for k, v in row._asdict().items() if k != "geometry"}
                    copy.write_row(
                        (ids[slug], row.name, orjson.dumps(props).decode(), "SRID=4326;" + row.geometry.wkt)
                    )  # fmt: skip
        cur.execute("ANALYZE features; ANALYZE feature_parts")
    return time.perf_counter() - started


def timed(work: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def geopandas_overlap(titles: gpd.GeoDataFrame, parks: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    pieces = gpd.overlay(titles, parks, how="intersection", keep_geom_type=True)
    pieces["overlap_ha"] = pieces.to_crs(EQUAL_AREA).area / 1e4
    return pieces[pieces["overlap_ha"] >= 0.01]


def geopandas_screen(zone: Polygon, titles: gpd.GeoDataFrame, parks: gpd.GeoDataFrame) -> int:
    """The same questions in memory: overlapping titles and parks (hectares), nearest park."""
    frame = gpd.GeoDataFrame(geometry=[zone], crs=4326)
    # Nearest in degrees (geopandas warns): cheaper than geodesic, so the comparison flatters it.
    hits = 0
    for layer in (titles, parks):
        pieces = gpd.overlay(frame, layer, how="intersection", keep_geom_type=True)
        hits += int((pieces.to_crs(EQUAL_AREA).area > 0).sum())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        near = gpd.sjoin_nearest(frame, parks, max_distance=0.02, distance_col="deg")
    return hits + len(near)


def main() -> None:
    rng = random.Random(SEED)
    cluster = _cluster()
    url = (
        cluster.create_database(DATABASE, drop=True)
        if cluster
        else os.environ["GEO_SERVICE_BENCH_DATABASE_URL"]
    )
    migrate(url)
    titles, parks, zones = generate(rng)
    vertices = int(parks.geometry.count_coordinates().min())
    print(
        f"data: {len(titles)} concessions, {len(parks)} protected areas of >= {vertices} vertices"
    )
    print(f"load (COPY + subdivide trigger): {load(url, titles, parks):.1f} s")

    engine = make_engine(url, pool_size=2)
    with Session(engine) as session:
        parts = session.execute(text("SELECT count(*) FROM feature_parts")).scalar_one()
        print(f"feature_parts: {parts} pieces")
        ours, result = timed(lambda: overlap(session, "bench-titles", "bench-parks"))
        theirs, frame = timed(lambda: geopandas_overlap(titles, parks))
        assert isinstance(result, dict)
        print(
            f"overlap titles x parks: PostGIS {ours:.2f} s ({len(result['rows'])} pairs, "
            f"{result['total_overlap_ha']:.0f} ha), geopandas overlay {theirs:.2f} s "
            f"({len(frame)} pairs, {frame['overlap_ha'].sum():.0f} ha, equal-area CRS); "
            f"ratio geopandas/PostGIS = {theirs / ours:.1f}x"
        )

        screen(session, mapping(zones[0]))  # warm the connection and the plan
        latencies, verdicts = [], []
        for zone in zones:
            seconds, answer = timed(lambda z=zone: screen(session, mapping(z)))
            latencies.append(seconds * 1000)
            verdicts.append(answer["verdict"])  # type: ignore[index]
        gp = [timed(lambda z=zone: geopandas_screen(z, titles, parks))[0] * 1000 for zone in zones]
    engine.dispose()
    if cluster:  # a gigabyte of generated data is not worth keeping
        with psycopg.connect(cluster.libpq_url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    latencies.sort()
    p95 = latencies[int(0.95 * len(latencies)) - 1]
    print(
        f"screening one zone ({len(zones)} zones, verdicts "
        f"{ {v: verdicts.count(v) for v in sorted(set(verdicts))} }): "
        f"PostGIS median {statistics.median(latencies):.1f} ms, p95 {p95:.1f} ms, "
        f"max {latencies[-1]:.1f} ms; geopandas overlay+sjoin_nearest median "
        f"{statistics.median(gp):.1f} ms; ratio geopandas/PostGIS = "
        f"{statistics.median(gp) / statistics.median(latencies):.1f}x"
    )


if __name__ == "__main__":
    main()
