"""Vector tile speed: this service against tipg on the same PostGIS, same tiles, same client.

    .venv/bin/python -m bench.tiles [--features 50000] [--parks 0] [--concurrency 8]
                                    [--max-seconds 60]

Loads about 50,000 polygons (8 to 24 vertices each) into a separate database `geo_bench_tiles`
(on GEO_SERVICE_DATABASE_URL's server, or the embedded cluster), or with `--parks 100` instead
100 national parks of 20,000 to 40,000 vertices each (tiles from zoom 0, where one tile holds
them all), starts this service and tipg side by side with uvicorn (one worker each) on loopback,
and drives both with the same closed-loop client (`concurrency` requests in flight, each sent
when the previous one returns) over the same shuffled list of tiles, zooms 5 (0 for the parks)
to 12 over the layer. Two passes per server: cold (our tile cache empty; tipg has none) then
warm. PostgreSQL's own buffers are warmed first, so neither server pays for disk reads the other
does not. tipg is capped by no feature limit (TIPG_MAX_FEATURES_PER_TILE raised), so both draw
every feature. Prints tiles/s, p50 and p95 latency per server and pass, the median latency per
zoom, and the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import morecantile
import psycopg

from geo_service.db.engine import database_url, local_cluster, migrate
from geo_service.settings import DatabaseSettings

BBOX = (-9.6, 11.4, -7.4, 13.0)
DATABASE = "geo_bench_tiles"

# Rotated irregular polygons of 8 to 24 vertices, 50 m to 1.5 km across, with cadastre-like
# attributes, generated in SQL so the load takes seconds.
LOAD_SQL = """
INSERT INTO features (layer_id, name, properties, geom)
SELECT %(layer)s, 'Permis ' || i,
       jsonb_build_object('code', 'PE-' || i, 'holder', 'Holder ' || (i %% 97),
                          'status', (ARRAY['active','application','expired','renewal'])[1 + i %% 4],
                          'title_type', 'exploration', 'granted', '2021-03-01'),
       ST_SetSRID(ST_MakePolygon(ST_AddPoint(line, ST_StartPoint(line))), 4326)
  FROM (
    SELECT i, ST_MakeLine(ARRAY(
             SELECT ST_MakePoint(cx + r * (0.7 + 0.3 * random()) * cos(2 * pi() * k / n),
                                 cy + r * (0.7 + 0.3 * random()) * sin(2 * pi() * k / n))
               FROM generate_series(0, n - 1) k)) AS line
      FROM (SELECT i, %(w)s + random() * %(dw)s AS cx, %(s)s + random() * %(dh)s AS cy,
                   0.0005 + random() * 0.007 AS r, 8 + (random() * 16)::int AS n
              FROM generate_series(1, %(n)s) i) p
  ) q
"""

# Parks 10 to 50 km across whose boundary wiggles at several scales, down to metres (as a
# digitised boundary does), so that each zoom keeps a different share of the vertices.
PARKS_SQL = """
INSERT INTO features (layer_id, name, properties, geom)
SELECT %(layer)s, 'Parc ' || i,
       jsonb_build_object('wdpa_id', 500000 + i, 'designation', 'Parc national'),
       ST_SetSRID(ST_MakePolygon(ST_AddPoint(line, ST_StartPoint(line))), 4326)
  FROM (
    SELECT i, ST_MakeLine(ARRAY(
             SELECT ST_MakePoint(cx + r * f * cos(a), cy + r * f * sin(a))
               FROM (SELECT 2 * pi() * k / n AS a FROM generate_series(0, n - 1) k) t,
                    LATERAL (SELECT 1 + 0.08 * sin(7 * a + i) + 0.03 * sin(53 * a + 2 * i)
                                    + 0.01 * sin(401 * a) + 0.0005 * random() AS f) w)) AS line
      FROM (SELECT i, %(w)s + random() * %(dw)s AS cx, %(s)s + random() * %(dh)s AS cy,
                   0.05 + random() * 0.2 AS r, 20000 + (random() * 20000)::int AS n
              FROM generate_series(1, %(n)s) i) p
  ) q
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_database(count: int, parks: int) -> tuple[str, str, str]:
    """A fresh database holding `count` polygons, or `parks` parks if not 0;
    (SQLAlchemy URL, libpq URL, layer slug)."""
    settings = DatabaseSettings()
    if settings.database_url:
        admin = settings.database_url.replace("postgresql+psycopg://", "postgresql://")
        base = admin.rsplit("/", 1)[0]
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {DATABASE}")
        libpq = f"{base}/{DATABASE}"
        url = libpq.replace("postgresql://", "postgresql+psycopg://", 1)
    else:
        cluster = local_cluster(settings)
        cluster.start()
        url = cluster.create_database(DATABASE, drop=True)
        libpq = cluster.libpq_url(DATABASE)
    migrate(url)
    if parks:
        slug, kind, sql = "bench-parks", "reference", PARKS_SQL
    else:
        slug, kind, sql = "bench-polygons", "concession", LOAD_SQL
    with psycopg.connect(libpq, autocommit=True) as conn:
        layer = conn.execute(
            "INSERT INTO layers (slug, title, kind) VALUES (%s, %s, %s) RETURNING id",
            (slug, slug.replace("-", " ").capitalize(), kind),
        ).fetchone()[0]
        w, s, e, n = BBOX
        t0 = time.perf_counter()
        conn.execute(
            sql, {"layer": layer, "n": parks or count, "w": w, "dw": e - w, "s": s, "dh": n - s}
        )
        print(f"inserted in {time.perf_counter() - t0:.1f}s (with the triggers' work)")
        conn.execute("VACUUM ANALYZE")
        conn.execute("SELECT count(*), sum(ST_NPoints(geom)) FROM features")  # warm the buffers
    return url, libpq, slug


def tile_list(zooms: list[int], seed: int = 1) -> list[morecantile.Tile]:
    tms = morecantile.tms.get("WebMercatorQuad")
    tiles = list(tms.tiles(*BBOX, zooms=zooms))
    random.Random(seed).shuffle(tiles)
    return tiles


def start(command: list[str], env: dict[str, str], port: int, probe: str) -> subprocess.Popen:
    process = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{command[0]} exited: {process.stderr.read() if process.stderr else ''}"
            )
        try:
            if httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"server on port {port} did not start")


async def drive(
    urls: list[tuple[int, str]], concurrency: int, max_seconds: float
) -> dict[str, float]:
    """Closed loop: `concurrency` workers, each sending its next request when one returns.
    `urls` are (zoom, url); the result holds overall figures and `z<zoom>`: median ms."""
    latencies: list[float] = []
    by_zoom: dict[int, list[float]] = {}
    statuses: dict[int, int] = {}
    queue = iter(urls)
    deadline = time.monotonic() + max_seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        limits=limits, timeout=120, headers={"Accept-Encoding": "gzip"}
    ) as client:

        async def worker() -> None:
            for z, url in queue:
                if time.monotonic() > deadline:
                    return
                t0 = time.perf_counter()
                response = await client.get(url)
                await response.aread()
                latencies.append(time.perf_counter() - t0)
                by_zoom.setdefault(z, []).append(latencies[-1])
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    latencies.sort()
    return {
        "tiles": len(latencies),
        "tiles_per_s": len(latencies) / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(0.95 * (len(latencies) - 1))] * 1000,
        "errors": sum(n for code, n in statuses.items() if code not in (200, 204)),
    } | {f"z{z}": statistics.median(ms) * 1000 for z, ms in sorted(by_zoom.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=50_000)
    parser.add_argument("--parks", type=int, default=0, help="parks instead of small polygons")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    args = parser.parse_args()
    if shutil.which("uvicorn", path=str(Path(sys.executable).parent)) is None:
        sys.exit("uvicorn missing from the virtual environment")
    try:
        import tipg  # noqa: F401
    except ImportError:
        sys.exit("tipg is missing: .venv/bin/pip install '.[bench]'")

    t0 = time.perf_counter()
    url, libpq, slug = prepare_database(args.features, args.parks)
    what = f"{args.parks} parks" if args.parks else f"{args.features} polygons"
    print(f"loaded {what} into {DATABASE} in {time.perf_counter() - t0:.1f}s")
    zooms = list(range(0 if args.parks else 5, 13))
    tiles = tile_list(zooms)
    print(f"{len(tiles)} tiles, zooms {zooms[0]}-{zooms[-1]}, concurrency {args.concurrency}")

    ours_port, tipg_port = _free_port(), _free_port()
    home = tempfile.mkdtemp(prefix="geo-bench-")
    uvicorn = str(Path(sys.executable).parent / "uvicorn")
    ours = start(
        [uvicorn, "--factory", "bench.tiles:bench_app", "--port", str(ours_port), "--workers", "1",
         "--log-level", "warning", "--no-access-log"],
        {"GEO_SERVICE_DATABASE_URL": url, "GEO_SERVICE_HOME": home, "GEO_SERVICE_POOL_SIZE": "16"},
        ours_port, "/health",
    )  # fmt: skip
    theirs = start(
        [uvicorn, "tipg.main:app", "--port", str(tipg_port), "--workers", "1",
         "--log-level", "warning", "--no-access-log"],
        {"DATABASE_URL": libpq, "TIPG_DB_TABLES": '["public.features"]',
         "TIPG_MAX_FEATURES_PER_TILE": "10000000", "DB_MAX_CONN_SIZE": "16"},
        tipg_port, "/collections",
    )  # fmt: skip
    ours_urls = [
        (t.z, f"http://127.0.0.1:{ours_port}/tiles/{slug}/{t.z}/{t.x}/{t.y}.mvt") for t in tiles
    ]
    tipg_base = f"http://127.0.0.1:{tipg_port}/collections/public.features/tiles/WebMercatorQuad"
    tipg_urls = [(t.z, f"{tipg_base}/{t.z}/{t.x}/{t.y}") for t in tiles]
    results: dict[tuple[str, str], dict[str, float]] = {}
    try:
        for phase in ("cold", "warm"):
            for name, urls in (("tipg", tipg_urls), ("geo-service", ours_urls)):
                results[(name, phase)] = asyncio.run(
                    drive(urls, args.concurrency, args.max_seconds)
                )
    finally:
        for process in (ours, theirs):
            process.terminate()
            process.wait(timeout=20)
        shutil.rmtree(home, ignore_errors=True)

    print("\n| server | pass | tiles | tiles/s | p50 ms | p95 ms | errors |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for (name, phase), r in results.items():
        print(f"| {name} | {phase} | {r['tiles']:.0f} | {r['tiles_per_s']:.1f} | {r['p50_ms']:.1f} "
              f"| {r['p95_ms']:.1f} | {r['errors']:.0f} |")  # fmt: skip
    print("\nmedian ms by zoom\n| server | pass | " + " | ".join(f"z{z}" for z in zooms) + " |")
    print("|---|---|" + "---:|" * len(zooms))
    for (name, phase), r in results.items():
        cells = (f"{r[f'z{z}']:.1f}" if f"z{z}" in r else "-" for z in zooms)
        print(f"| {name} | {phase} | " + " | ".join(cells) + " |")
    for phase in ("cold", "warm"):
        ours_r, tipg_r = results[("geo-service", phase)], results[("tipg", phase)]
        print(f"{phase}: geo-service / tipg = {ours_r['tiles_per_s'] / tipg_r['tiles_per_s']:.2f}x "
              f"tiles/s, p95 {tipg_r['p95_ms'] / ours_r['p95_ms']:.2f}x lower")  # fmt: skip


def bench_app():
    """The app for uvicorn --factory, on the database named by GEO_SERVICE_DATABASE_URL."""
    from geo_service.api.app import create_app

    return create_app(database_url(DatabaseSettings()))


if __name__ == "__main__":
    main()
