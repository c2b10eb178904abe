"""Zonal statistics against numpy over the pixels whose centres shapely finds in each zone."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import shapely
from pyproj import Transformer
from rasterio.transform import from_origin
from shapely.geometry import Polygon, box, mapping

from geo_service.analysis.zonal import zonal
from geo_service.domain.access import OPERATOR
from geo_service.errors import InvalidInput
from geo_service.store import layers as store
from tests.analysis.conftest import add_layer


def raster_layer(session, slug, path, data, crs, transform, nodata=None):
    with rasterio.open(
        path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
        dtype=data.dtype, crs=crs, transform=transform, nodata=nodata,
    ) as dst:  # fmt: skip
        dst.write(data, 1)
    layer = store.create_layer(session, slug, storage="raster", who=OPERATOR)
    layer.raster_path = str(path)
    session.flush()


def pixel_centres(transform, shape):
    rows, cols = np.indices(shape)
    xs, ys = rasterio.transform.xy(transform, rows.ravel(), cols.ravel())
    return np.asarray(xs).reshape(shape), np.asarray(ys).reshape(shape)


def test_continuous_raster_in_lonlat(session, tmp_path):
    transform = from_origin(50.0, -10.0, 0.001, 0.001)
    data = np.arange(100 * 100, dtype="float32").reshape(100, 100)
    data[40:45, 40:45] = -9999
    raster_layer(session, "zn-dem", tmp_path / "dem.tif", data, "EPSG:4326", transform, -9999)
    zone = Polygon(
        [(50.0103, -10.0102), (50.0617, -10.0201), (50.0452, -10.0733), (50.0201, -10.0655)]
    )

    [row] = zonal(session, "zn-dem", mapping(zone), who=OPERATOR)["rows"]

    xs, ys = pixel_centres(transform, data.shape)
    values = data[shapely.contains_xy(zone, xs, ys) & (data != -9999)]
    assert row["zone"] is None
    assert row["count"] == values.size
    assert row["min"] == values.min() and row["max"] == values.max()
    assert row["mean"] == pytest.approx(values.mean(dtype="float64"))
    assert row["sum"] == pytest.approx(values.sum(dtype="float64"))
    assert "classes" not in row


def test_categorical_raster_in_utm_over_a_zone_layer(session, tmp_path):
    transform = from_origin(500000.0, 1400000.0, 30.0, 30.0)
    rng = np.random.default_rng(3)
    data = rng.integers(1, 5, size=(200, 200)).astype("uint8")
    raster_layer(session, "zn-cover", tmp_path / "cover.tif", data, "EPSG:32629", transform)
    to_lonlat = Transformer.from_crs(32629, 4326, always_xy=True)
    corner = to_lonlat.transform(500000.0, 1400000.0)
    zones = [
        box(corner[0] + 0.005, corner[1] - 0.03, corner[0] + 0.03, corner[1] - 0.01),
        Polygon([(corner[0] + 0.01, corner[1] - 0.05), (corner[0] + 0.04, corner[1] - 0.045),
                 (corner[0] + 0.02, corner[1] - 0.02)]),
        box(corner[0] + 1, corner[1] + 1, corner[0] + 1.01, corner[1] + 1.01),  # off the raster
    ]  # fmt: skip
    ids = add_layer(session, "zn-zones", [(z, {"name": f"z{i}"}) for i, z in enumerate(zones)])

    rows = zonal(session, "zn-cover", "zn-zones", who=OPERATOR)["rows"]

    xs, ys = pixel_centres(transform, data.shape)
    lon, lat = to_lonlat.transform(xs, ys)
    assert [r["zone"]["id"] for r in rows] == ids
    for row, zone in zip(rows[:2], zones[:2], strict=True):
        values = data[shapely.contains_xy(zone, lon, lat)]
        assert row["count"] == pytest.approx(values.size, rel=0.005)
        assert row["mean"] == pytest.approx(values.mean(), rel=0.005)
        classes, counts = np.unique(values, return_counts=True)
        expected = {str(c): n / values.size for c, n in zip(classes, counts, strict=True)}
        assert row["classes"].keys() == expected.keys()
        assert all(row["classes"][k] == pytest.approx(v, abs=0.005) for k, v in expected.items())
    assert rows[2]["count"] == 0 and rows[2]["mean"] is None


def test_zonal_refuses_a_vector_layer_as_raster(session):
    add_layer(session, "zn-vector", [(box(0, 0, 1, 1), {})])
    with pytest.raises(InvalidInput):
        zonal(session, "zn-vector", "zn-vector", who=OPERATOR)
