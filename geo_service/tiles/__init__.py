"""Map tiles: vector tiles from ST_AsMVT, raster tiles from rio-tiler, TileJSON, cache, PMTiles."""
