"""Proximity and overlap on sensitive layers: a caller below a layer's level gets targets ranked,
distances measured and areas intersected on its generalised geometries (the point of its cell of
the 10 km grid of EPSG:3857, computed here with pyproj and measured with pyproj.Geod and
shapely), alike in JSON, CSV and jobs; an admin gets the exact figures."""

from __future__ import annotations

import csv
import io
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pyproj import Geod, Transformer
from shapely.geometry import Point, Polygon
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from geo_service.domain.access import OPERATOR
from geo_service.store import layers as store
from tests.analysis.conftest import add_layer, geod_distance_m, geod_ha
from tests.api.test_sensitivity_channels import _lonlat, _square

GRID = 10_000
TO_M = Transformer.from_crs(4326, 3857, always_xy=True)
TO_DEG = Transformer.from_crs(3857, 4326, always_xy=True)
GEOD = Geod(ellps="WGS84")
# A node of the 10 km grid in Chad, away from other tests' data; positions are EPSG:3857 metres.
CX, CY = (round(v / GRID) * GRID for v in TO_M.transform(13.2, 14.6))
# Restricted sites placed so that the grid reverses the order seen from V: S1 is 300 m from V
# but its grid point (CX, CY) 5.2 km; S2 is 4.8 km from V, its grid point (CX + 10 km, CY) too.
SITES = {"S1": (CX + 4900, CY + 0), "S2": (CX + 5600, CY + 4800)}
VILLAGES = {"V": (CX + 5200, CY + 0), "W": (CX - 1000, CY + 300)}
CONC_AT = (CX + 3000, CY + 2000)  # a restricted concession's centre; its grid point is (CX, CY)
BELOW = ("anonymous", "viewer")


def _grid_point(x: float, y: float) -> Point:
    """Where a caller below the layer's level sees a feature whose point on surface is (x, y):
    snapped to the nearest node of the grid in EPSG:3857."""
    return Point(_lonlat(round(x / GRID) * GRID, round(y / GRID) * GRID))


CONC = _square(*CONC_AT, 1000)
ZONES = {"Z1": _square(*CONC_AT, 1500), "Z2": _square(CX, CY, 1000)}  # Z1 holds CONC, Z2 its grid


def _exact(name: str) -> Point:
    return Point(_lonlat(*SITES[name]))


def _seen(name: str, role: str) -> Point:
    """Site `name` as `role` sees it."""
    return _exact(name) if role == "admin" else _grid_point(*SITES[name])


def _conc_seen(role: str) -> Polygon | Point:
    return CONC if role == "admin" else _grid_point(*CONC_AT)


def _m(a: Point, b: Point) -> float:
    return float(GEOD.inv(a.x, a.y, b.x, b.y)[2])


@pytest.fixture(scope="module")
def world(engine: Engine, client) -> Iterator[dict[str, Any]]:
    tag = uuid.uuid4().hex[:6]
    slugs = {k: f"sa-{k}-{tag}" for k in ("sites", "conc", "villages", "zones")}
    with Session(engine) as s:
        ids = {
            "sites": add_layer(s, slugs["sites"], [(_exact(n), {"name": n}) for n in SITES]),
            "conc": add_layer(s, slugs["conc"], [(CONC, {"name": "Conc", "holder": "Secret"})]),
            "villages": add_layer(s, slugs["villages"],
                                  [(Point(_lonlat(*p)), {"name": n}) for n, p in VILLAGES.items()]),
            "zones": add_layer(s, slugs["zones"], [(z, {"name": n}) for n, z in ZONES.items()]),
        }  # fmt: skip
        s.commit()
    for key in ("sites", "conc"):
        made = client.patch(
            f"/layers/{slugs[key]}",
            json={"sensitivity": "restricted", "generalise_m": GRID,
                  "attribute_sensitivity": {"holder": "restricted"}},
        )  # fmt: skip
        assert made.status_code == 200, made.text
    names = {
        **dict(zip(SITES, ids["sites"], strict=True)),
        "Conc": ids["conc"][0],
        **dict(zip(VILLAGES, ids["villages"], strict=True)),
        **dict(zip(ZONES, ids["zones"], strict=True)),
    }
    yield {"slugs": slugs, "ids": names, "names": {v: k for k, v in names.items()}}
    with Session(engine) as s:
        for slug in slugs.values():
            store.delete_layer(s, slug, OPERATOR)
        s.commit()


@pytest.fixture(scope="module")
def callers(anon, as_role):
    return {"anonymous": anon, "viewer": as_role("viewer"), "admin": as_role("admin")}


def _post(c, path: str, body: dict[str, Any], **params: Any) -> dict[str, Any]:
    answer = c.post(path, json=body, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _pairs(world, rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(source, target) names of the rows, in their order."""
    names = world["names"]
    return [(names[r["source"]["id"]], names[r["target"]["id"]]) for r in rows]


def _ranked(origins: dict[str, Point], targets: dict[str, Point], k: int) -> list[tuple]:
    """(source, target, metres) of each origin's k nearest targets by pyproj.Geod, in the
    analysis's order (source id, then distance)."""
    out = []
    for name, origin in origins.items():
        ranked = sorted((_m(origin, t), n) for n, t in targets.items())[:k]
        out += [(name, n, d) for d, n in ranked]
    return out


def _check(world, rows: list[dict[str, Any]], expected: list[tuple]) -> None:
    assert _pairs(world, rows) == [(s, t) for s, t, _ in expected]
    for row, (_, _, metres) in zip(rows, expected, strict=True):
        assert row["distance_m"] == pytest.approx(metres, abs=1.0)


def _villages() -> dict[str, Point]:
    return {n: Point(_lonlat(*p)) for n, p in VILLAGES.items()}


# -- proximity ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [*BELOW, "admin"])
def test_nearest_sensitive_targets_are_ranked_and_measured_at_their_grid_points(
    callers, world, role
) -> None:
    slugs = world["slugs"]
    body = {"source": slugs["villages"], "target": slugs["sites"], "k": 2}
    rows = _post(callers[role], "/analysis/proximity", body)["rows"]
    expected = _ranked(_villages(), {n: _seen(n, role) for n in SITES}, 2)
    # The grid reverses what is nearest to V: the exact order must not show through.
    assert [t for s, t, _ in expected if s == "V"] == (
        ["S1", "S2"] if role == "admin" else ["S2", "S1"]
    )
    _check(world, rows, expected)
    if role != "admin":  # S1 lies 300 m from V: nothing says so
        (v_s1,) = [r for r, p in zip(rows, _pairs(world, rows), strict=True) if p == ("V", "S1")]
        assert v_s1["distance_m"] > 10 * _m(_villages()["V"], _exact("S1"))


@pytest.mark.parametrize("role", [*BELOW, "admin"])
def test_nearest_from_a_sensitive_source_measures_from_its_grid_points(
    callers, world, role
) -> None:
    slugs = world["slugs"]
    body = {"source": slugs["sites"], "target": slugs["villages"]}
    rows = _post(callers[role], "/analysis/proximity", body)["rows"]
    expected = _ranked({n: _seen(n, role) for n in SITES}, _villages(), 1)
    assert [t for _, t, _ in expected] == (["V", "V"] if role == "admin" else ["W", "V"])
    _check(world, rows, expected)


@pytest.mark.parametrize("role", [*BELOW, "admin"])
def test_within_m_keeps_the_targets_near_where_the_caller_sees_them(callers, world, role) -> None:
    slugs = world["slugs"]
    v = _villages()["V"]
    grid = sorted(_m(v, _grid_point(*SITES[n])) for n in SITES)
    within = (grid[0] + grid[1]) / 2  # between the two grid points' distances from V
    body = {"source": slugs["villages"], "target": slugs["sites"], "k": None, "within_m": within,
            "source_filter": {"name": "V"}}  # fmt: skip
    rows = _post(callers[role], "/analysis/proximity", body)["rows"]
    distances = {n: _m(v, _seen(n, role)) for n in SITES}
    expected = sorted((d, n) for n, d in distances.items() if d <= within)
    assert [t for _, t in _pairs(world, rows)] == [n for _, n in expected]
    assert len(rows) == (2 if role == "admin" else 1)
    for row, (d, _) in zip(rows, expected, strict=True):
        assert row["distance_m"] == pytest.approx(d, abs=1.0)


@pytest.mark.parametrize("role", [*BELOW, "admin"])
def test_nearest_between_two_sensitive_layers(callers, world, role) -> None:
    slugs = world["slugs"]
    body = {"source": slugs["sites"], "target": slugs["conc"]}
    rows = _post(callers[role], "/analysis/proximity", body)["rows"]
    assert _pairs(world, rows) == [("S1", "Conc"), ("S2", "Conc")]
    for row, name in zip(rows, SITES, strict=True):
        truth = geod_distance_m(_seen(name, role), _conc_seen(role))
        assert row["distance_m"] == pytest.approx(truth, abs=1.0)
    if role != "admin":
        assert rows[0]["distance_m"] == 0  # both at the node (CX, CY)


@pytest.mark.parametrize("role", ["viewer", "admin"])
def test_proximity_csv_and_jobs_give_the_same_generalised_distances(callers, world, role) -> None:
    c = callers[role]
    slugs = world["slugs"]
    body = {"source": slugs["villages"], "target": slugs["sites"], "k": 2}
    expected = _ranked(_villages(), {n: _seen(n, role) for n in SITES}, 2)
    answer = c.post("/analysis/proximity", json=body, params={"format": "csv"})
    assert answer.status_code == 200, answer.text
    table = list(csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff"))))
    assert len(table) == len(expected)
    for line, (_, _, metres) in zip(table, expected, strict=True):
        assert float(line["distance_m"]) == pytest.approx(metres, abs=1.0)
    _check(world, _job(c, "/analysis/proximity", body)["rows"], expected)


def _job(c, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """The result of `path` run as a job."""
    answer = c.post(path, json=body, params={"async": "true"})
    assert answer.status_code == 202, answer.text
    deadline = time.monotonic() + 30
    while (job := c.get(answer.json()["href"]).json())["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert job["status"] == "done", job
    return job["result"]


# -- overlap ------------------------------------------------------------------------------------


def _areas(sources: dict[str, Any], targets: dict[str, Any], min_ha: float) -> dict[tuple, tuple]:
    """(source, target) -> (overlap ha, source %, target %) by shapely and pyproj.Geod; a share
    of a feature without area is None."""
    out = {}
    for sn, s in sources.items():
        for tn, t in targets.items():
            if s.intersects(t):
                ha = geod_ha(s.intersection(t)) if s.area and t.area else 0.0
                if ha >= min_ha:
                    s_ha, t_ha = geod_ha(s), geod_ha(t) if t.area else 0.0
                    out[(sn, tn)] = (ha, 100 * ha / s_ha, 100 * ha / t_ha if t_ha else None)
    return out


def _check_areas(world, result: dict[str, Any], expected: dict[tuple, tuple]) -> None:
    got = dict(zip(_pairs(world, result["rows"]), result["rows"], strict=True))
    assert set(got) == set(expected)
    for pair, (ha, s_pct, t_pct) in expected.items():
        assert got[pair]["overlap_ha"] == pytest.approx(ha, rel=1e-3, abs=1e-6)
        assert got[pair]["source_pct"] == pytest.approx(s_pct, rel=1e-3, abs=1e-6)
        assert got[pair]["target_pct"] == (None if t_pct is None else pytest.approx(t_pct, 1e-3))
    total = sum(v[0] for v in expected.values())
    assert result["total_overlap_ha"] == pytest.approx(total, rel=1e-3, abs=1e-6)


@pytest.mark.parametrize("role", [*BELOW, "admin"])
@pytest.mark.parametrize("min_ha", [0.01, 0.0])
def test_overlap_with_a_sensitive_target_is_of_its_generalised_geometry(
    callers, world, role, min_ha
) -> None:
    slugs = world["slugs"]
    body = {"source": slugs["zones"], "target": slugs["conc"], "min_overlap_ha": min_ha}
    result = _post(callers[role], "/analysis/overlap", body)
    expected = _areas(ZONES, {"Conc": _conc_seen(role)}, min_ha)
    if role == "admin":
        assert list(expected) == [("Z1", "Conc")] and expected[("Z1", "Conc")][2] == 100
    else:
        # A grid point has no area: a pair only when any overlap counts, of 0 ha, with Z2.
        assert list(expected) == ([("Z2", "Conc")] if min_ha == 0 else [])
    _check_areas(world, result, expected)
    assert "Secret" not in str(result) or role == "admin"


@pytest.mark.parametrize("role", [*BELOW, "admin"])
def test_overlap_from_a_sensitive_source_counts_its_grid_point_as_a_point(
    callers, world, role
) -> None:
    slugs = world["slugs"]
    body = {"source": slugs["conc"], "target": slugs["zones"]}
    result = _post(callers[role], "/analysis/overlap", body)
    if role == "admin":
        _check_areas(world, result, _areas({"Conc": CONC}, ZONES, 0.01))
        assert all("inside" not in r for r in result["rows"])
        return
    seen = _grid_point(*CONC_AT)
    inside = [n for n, z in ZONES.items() if z.intersects(seen)]
    assert inside == ["Z2"]
    assert _pairs(world, result["rows"]) == [("Conc", n) for n in inside]
    assert all(r["inside"] is True and "overlap_ha" not in r for r in result["rows"])
    assert result["total_overlap_ha"] == 0


@pytest.mark.parametrize("role", ["viewer", "admin"])
def test_overlap_jobs_and_csv_are_of_what_the_caller_sees(callers, world, role) -> None:
    c = callers[role]
    slugs = world["slugs"]
    body = {"source": slugs["zones"], "target": slugs["conc"], "min_overlap_ha": 0}
    expected = _areas(ZONES, {"Conc": _conc_seen(role)}, 0.0)
    _check_areas(world, _job(c, "/analysis/overlap", body), expected)
    answer = c.post("/analysis/overlap", json=body, params={"format": "csv"})
    assert answer.status_code == 200, answer.text
    table = list(csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff"))))
    assert [float(line["overlap_ha"]) for line in table] == [
        pytest.approx(ha, rel=1e-3, abs=1e-6) for ha, _, _ in expected.values()
    ]
