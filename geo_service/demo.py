"""The demo data set: a plausible gold-mining region on the Niger between Bamako and Siguiri.

`generate()` writes GeoJSON files under data/demo/ from a fixed seed (so the files are the same
on every machine); `load()` puts them and the Natural Earth rivers and places into the database.
Every name and number is invented; the rivers and places are Natural Earth (public domain).
"""

from __future__ import annotations

import json
import math
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_service.db.models import Layer
from geo_service.domain.access import OPERATOR
from geo_service.store import layers as store

DATA = Path(__file__).resolve().parents[1] / "data"
DEMO = DATA / "demo"
NATURAL_EARTH = DATA / "naturalearth"
SEED = 20261129
BBOX = (-9.6, 11.4, -7.4, 13.0)  # lon/lat: south-west Mali and north-east Guinea

LAYERS: list[dict[str, Any]] = [
    {
        "slug": "mine-sites",
        "kind": "mine_site",
        "title": "ASM sites",
        "title_fr": "Sites d'orpaillage",
    },
    {
        "slug": "concessions",
        "kind": "concession",
        "title": "Mining titles",
        "title_fr": "Titres miniers",
    },
    {
        "slug": "tailings",
        "kind": "tailings_facility",
        "title": "Tailings storage facilities",
        "title_fr": "Installations de stockage de résidus",
    },
    {
        "slug": "abandoned-mines",
        "kind": "abandoned_mine",
        "title": "Abandoned mines",
        "title_fr": "Mines abandonnées",
    },
    {
        "slug": "asm-zones",
        "kind": "asm_zone",
        "title": "ASM zones",
        "title_fr": "Zones d'orpaillage",
    },
    {
        "slug": "protected-areas",
        "kind": "reference",
        "theme": "protected_area",
        "title": "Protected areas",
        "title_fr": "Aires protégées",
    },
]
NE_LAYERS: list[dict[str, Any]] = [
    {
        "slug": "rivers",
        "theme": "river",
        "title": "Rivers (Natural Earth 1:50m)",
        "title_fr": "Cours d'eau (Natural Earth 1:50m)",
        "file": "ne_50m_rivers_lake_centerlines.zip",
        "bbox": (-20.0, 4.0, 5.0, 20.0),
    },
    {
        "slug": "places",
        "theme": "settlement",
        "title": "Populated places (Natural Earth 1:110m)",
        "title_fr": "Localités (Natural Earth 1:110m)",
        "file": "ne_110m_populated_places.zip",
        "bbox": (-20.0, 4.0, 5.0, 20.0),
    },
]
NE_ATTRIBUTION = "Natural Earth (public domain)"
# The demo's gazetted zone is larger than the screening rules allow: it is recorded as gazetted
# with the reason (store.create_feature), as a cadastre entering an older decree would.
DECREE_BEFORE_RULES = "Gazetted by its decree before the screening rules applied (demo data)"

_SYLLABLES = ["ka", "ba", "ko", "si", "gui", "ri", "ma", "na", "fa", "lo", "dou", "ke", "ni", "so"]
_HOLDERS = [
    "Société des Mines du Mandé SA",
    "Coopérative aurifère de Kangaba",
    "Falémé Gold Resources SARL",
    "Niger Basin Exploration Ltd",
    "Groupement des orpailleurs de Narena",
    "Sahel Minerals Corp",
    "Kourémalé Mining SARL",
]


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def _point(rng: random.Random) -> tuple[float, float]:
    return (round(rng.uniform(BBOX[0], BBOX[2]), 5), round(rng.uniform(BBOX[1], BBOX[3]), 5))


def _rectangle(lon: float, lat: float, w: float, h: float) -> dict[str, Any]:
    ring = [[lon, lat], [lon + w, lat], [lon + w, lat + h], [lon, lat + h], [lon, lat]]
    return {"type": "Polygon", "coordinates": [[[round(x, 5), round(y, 5)] for x, y in ring]]}


def _blob(rng: random.Random, lon: float, lat: float, radius: float, n: int = 24) -> dict[str, Any]:
    ring = []
    for i in range(n):
        a = 2 * math.pi * i / n
        r = radius * rng.uniform(0.75, 1.2)
        ring.append([round(lon + r * math.cos(a), 5), round(lat + r * math.sin(a) * 0.98, 5)])
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def _feature(geometry: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def _day(rng: random.Random, start: date, span_days: int) -> str:
    return (start + timedelta(days=rng.randint(0, span_days))).isoformat()


def build(seed: int = SEED) -> dict[str, list[dict[str, Any]]]:
    """The demo features per layer slug, the same for the same seed."""
    rng = random.Random(seed)
    concessions = []
    title_types = ["exploration", "exploitation", "small_scale_exploitation", "asm_authorisation"]
    statuses = ["active", "active", "active", "application", "renewal", "expired", "force_majeure"]
    for i in range(18):
        lon, lat = _point(rng)
        w, h = rng.uniform(0.05, 0.3), rng.uniform(0.05, 0.25)
        granted = _day(rng, date(2012, 1, 1), 3000)
        title_type = title_types[i % len(title_types)]
        years = {"exploration": 3, "exploitation": 20}.get(title_type, 5)
        concessions.append(
            _feature(
                _rectangle(lon, lat, w, h),
                {
                    "code": f"PE-{2012 + i % 12}-{100 + i:03d}",
                    "holder": rng.choice(_HOLDERS),
                    "title_type": title_type,
                    "status": rng.choice(statuses),
                    "granted": granted,
                    "expires": (
                        date.fromisoformat(granted) + timedelta(days=365 * years)
                    ).isoformat(),
                    "minerals": ["gold"] if rng.random() < 0.85 else ["gold", "silver"],
                },
            )
        )
    sites = []
    for i in range(48):
        if i < 16:  # a third of the sites sit inside titles, as they do on the ground
            ring = rng.choice(concessions)["geometry"]["coordinates"][0]
            lon = rng.uniform(ring[0][0], ring[1][0])
            lat = rng.uniform(ring[0][1], ring[2][1])
        else:
            lon, lat = _point(rng)
        workers = rng.choice([15, 40, 80, 150, 300, 600, 1200])
        sites.append(
            _feature(
                {"type": "Point", "coordinates": [round(lon, 5), round(lat, 5)]},
                {
                    "name": f"Placer de {_name(rng)}",
                    "code": f"ML-ASM-{i + 1:04d}",
                    "country": "Mali" if lat > 11.95 or lon > -8.4 else "Guinea",
                    "admin_area": rng.choice(["Kangaba", "Kati", "Siguiri", "Kouroussa"]),
                    "minerals": ["gold"],
                    "scale": rng.choice(["artisanal", "artisanal", "small_scale"]),
                    "activity_status": rng.choice(["active", "active", "seasonal", "inactive"]),
                    "workers": workers,
                    "women_workers": int(workers * rng.uniform(0.1, 0.45)),
                    "mercury_use": rng.random() < 0.6,
                    "qualification": rng.choice(["green", "yellow", "red", "not_assessed"]),
                    "last_visit": _day(rng, date(2023, 1, 1), 1000),
                    "operator": rng.choice(["", "Coopérative Benkadi", "GIE Sabougnouma"]) or None,
                    "source": "Field survey (invented demo data)",
                },
            )
        )
    tailings = []
    for i, consequence in enumerate(["low", "significant", "high", "very_high"]):
        lon, lat = _point(rng)
        tailings.append(
            _feature(
                _blob(rng, lon, lat, 0.006),
                {
                    "name": f"TSF {_name(rng)} {i + 1}",
                    "mine": f"Mine de {_name(rng)}",
                    "operator": rng.choice(_HOLDERS),
                    "status": ["active", "active", "inactive", "care_and_maintenance"][i],
                    "raise_method": ["upstream", "downstream", "centreline", "upstream"][i],
                    "max_height_m": round(rng.uniform(8, 45), 1),
                    "volume_m3": round(rng.uniform(2e5, 8e6), -3),
                    "consequence": consequence,
                    "classification_system": "GISTM",
                    "year_commenced": rng.randint(1995, 2020),
                },
            )
        )
    hazard_sets = [
        ["open_shaft", "unstable_waste"],
        ["mercury", "contaminated_water"],
        ["acid_drainage"],
        ["open_shaft", "subsidence"],
        ["cyanide", "contaminated_water"],
    ]
    abandoned = [
        _feature(
            {"type": "Point", "coordinates": list(_point(rng))},
            {
                "name": f"Ancienne mine de {_name(rng)}",
                "minerals": ["gold"],
                "hazards": hazards,
                "responsible_party_known": i % 2 == 0,
                "rehabilitation": ["none", "planned", "none", "in_progress", "completed"][i],
            },
        )
        for i, hazards in enumerate(hazard_sets)
    ]
    zones = [
        _feature(
            _rectangle(-8.75, 12.05, 0.2, 0.14),
            {
                "code": "ZOP-KGB-01",
                "name": "Zone d'orpaillage de Kangaba",
                "minerals": ["gold"],
                "status": "gazetted",
                "authority": "Direction nationale de la géologie et des mines",
                "decree_ref": "Arrêté 2021-0457/MMEE-SG",
                "effective_from": "2021-06-01",
            },
        ),
        _feature(
            _rectangle(-9.15, 11.6, 0.16, 0.12),
            {
                "code": "ZOP-SIG-02",
                "name": "Zone d'orpaillage de Kintinian",
                "minerals": ["gold"],
                "status": "draft",
                "authority": "Ministère des Mines et de la Géologie",
            },
        ),
    ]
    protected = [
        _feature(
            _blob(rng, -8.15, 12.55, 0.18, n=64),
            {
                "name": "Forêt classée de la Faya (demo outline)",
                "designation": "forêt classée",
                "iucn_category": "VI",
                "status": "designated",
            },
        )
    ]
    return {
        "mine-sites": sites,
        "concessions": concessions,
        "tailings": tailings,
        "abandoned-mines": abandoned,
        "asm-zones": zones,
        "protected-areas": protected,
    }


def generate(folder: Path = DEMO, seed: int = SEED) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for slug, features in build(seed).items():
        path = folder / f"{slug}.geojson"
        collection = {"type": "FeatureCollection", "features": features}
        path.write_text(json.dumps(collection, ensure_ascii=False, indent=1) + "\n")
        written.append(path)
    return written


def _natural_earth(file: str, bbox: tuple[float, float, float, float]) -> list[dict[str, Any]]:
    import pyogrio
    from shapely.geometry import mapping

    frame = pyogrio.read_dataframe(f"zip://{NATURAL_EARTH / file}", bbox=bbox)
    return [
        _feature(
            dict(mapping(geom)), {k: v for k, v in row.items() if isinstance(v, (str, int, float))}
        )
        for geom, row in zip(
            frame.geometry, frame.drop(columns="geometry").to_dict("records"), strict=True
        )
        if geom is not None and not geom.is_empty
    ]


def is_loaded(session: Session) -> bool:
    return session.scalar(select(Layer.id).where(Layer.slug == "mine-sites")) is not None


def load(session: Session, replace: bool = False) -> dict[str, int]:
    """Create the demo layers (public) and their features; return the count per layer."""
    counts: dict[str, int] = {}
    sources: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for spec in LAYERS:
        data = json.loads((DEMO / f"{spec['slug']}.geojson").read_text())
        sources.append((spec, data["features"]))
    for spec in NE_LAYERS:
        sources.append(
            ({**spec, "kind": "reference", "attribution": NE_ATTRIBUTION},
             _natural_earth(spec["file"], spec["bbox"]))
        )  # fmt: skip
    for spec, features in sources:
        if replace and session.scalar(select(Layer.id).where(Layer.slug == spec["slug"])):
            store.delete_layer(session, spec["slug"], OPERATOR)
        layer = store.create_layer(
            session,
            spec["slug"],
            OPERATOR,
            visibility="public",
            title=spec["title"],
            title_fr=spec["title_fr"],
            title_en=spec["title"],
            kind=spec["kind"],
            attribution=spec.get("attribution", "geo-service demo data (invented)"),
            theme=spec.get("theme"),
        )
        for feature in features:
            gazetted = (
                spec["kind"] == "asm_zone" and feature["properties"].get("status") == "gazetted"
            )
            store.create_feature(
                session, layer, feature["geometry"], feature["properties"], who=OPERATOR,
                override=DECREE_BEFORE_RULES if gazetted else None,
            )  # fmt: skip
        counts[spec["slug"]] = len(features)
        if spec["slug"] == "mine-sites":
            from geo_service import demo_monitoring

            demo_monitoring.load(session, layer.id)
    return counts


if __name__ == "__main__":
    for written in generate():
        print(written)
