"""The one store of features: every reader and writer of features goes through here.

`catalog` finds layers (one record, one lookup under the visibility rule) and describes them;
`cql2` compiles a CQL2 filter (text or JSON, OGC 21-065) into parameterised SQL, for items,
exports, tiles and analyses alike; `features` selects features (layer, bbox in any CRS,
filter, time, order, properties, output CRS) for items pages, exports and search;
`queryables` says what a filter may name; `crs` reads the CRS parameters of OGC API Features
Part 2; `bulk` writes an import with COPY; `layers` edits layers and features through the ORM.
Tiles (ST_AsMVT) and analyses (overlay SQL) keep their own geometry SQL and take their layers
and filters from here.
"""
