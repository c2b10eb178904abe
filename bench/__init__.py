"""Benchmarks that print ratios against peers (ogr2ogr, geopandas, tipg); never part of `make test`."""
