"""PMTiles export: the archive read back with the pmtiles reader holds the live tiles."""

from __future__ import annotations

import gzip

import mapbox_vector_tile
import morecantile
import pytest
from pmtiles.reader import MmapSource, Reader
from pmtiles.tile import Compression, TileType
from shapely.geometry import box, mapping

from geo_service.domain.access import OPERATOR
from geo_service.errors import InvalidInput
from geo_service.store import catalog
from geo_service.store import layers as store
from geo_service.tiles import mvt
from geo_service.tiles.pmtiles import export

TMS = morecantile.tms.get("WebMercatorQuad")


def test_export_round_trip(session, tmp_path):
    layer = store.create_layer(session, "tiles-pmtiles-zones", kind="asm_zone", who=OPERATOR)
    boxes = [(-8.6 + i * 0.1, 12.0, -8.55 + i * 0.1, 12.05) for i in range(5)]
    zones = [
        store.create_feature(session, layer, mapping(box(*b)), {"code": f"ZE-{i}", "status": "draft"},
                             name=f"Zone {i}", who=OPERATOR)
        for i, b in enumerate(boxes)
    ]  # fmt: skip
    out = tmp_path / "zones.pmtiles"
    # From zoom 2, where a zone (0.05 degrees wide) is wider than a tile unit and so drawn.
    summary = export(session.connection(), layer.slug, out, maxzoom=9, minzoom=2)
    # Every tile touched by a zone, and no other (morecantile, independently of PostGIS).
    zooms = list(range(2, 10))
    assert summary["tiles"] == len({t for b in boxes for t in TMS.tiles(*b, zooms=zooms)})

    with out.open("rb") as f:
        reader = Reader(MmapSource(f))
        header = reader.header()
        assert header["tile_type"] == TileType.MVT
        assert header["tile_compression"] == Compression.GZIP
        assert (header["min_zoom"], header["max_zoom"]) == (2, 9)
        assert header["min_lon_e7"] == pytest.approx(-8.6e7, abs=10)
        assert reader.metadata()["vector_layers"][0]["id"] == layer.slug
        tile = TMS.tile(-8.4, 12.02, 9)
        data = gzip.decompress(reader.get(9, tile.x, tile.y))
        assert reader.get(9, tile.x + 3, tile.y) is None

    decoded = mapbox_vector_tile.decode(data)[layer.slug]["features"]
    inside = [i for i, b in enumerate(boxes) if box(*b).intersects(box(*TMS.bounds(tile)))]
    assert 0 < len(inside) < len(boxes)
    assert {f["id"] for f in decoded} == {zones[i].id for i in inside}
    assert {f["properties"]["code"] for f in decoded} == {f"ZE-{i}" for i in inside}
    live = mvt.render(
        session.connection(), catalog.lookup(session.connection(), [layer.slug], OPERATOR),
        9, tile.x, tile.y, mvt.TileQuery(),
    )  # fmt: skip
    assert data == live


def test_export_of_an_empty_layer_is_refused(session, tmp_path):
    layer = store.create_layer(session, "tiles-pmtiles-empty", kind="asm_zone", who=OPERATOR)
    with pytest.raises(InvalidInput):
        export(session.connection(), layer.slug, tmp_path / "x.pmtiles", maxzoom=3)
