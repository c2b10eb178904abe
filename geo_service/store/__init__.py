"""The one store of features: every reader and writer of features goes through here.

`layers` finds a layer (one record, one lookup) and describes it; `cql2` turns a CQL2 filter
(text or JSON, OGC 21-065) into parameterised SQL; `query` is a selection of features (layer,
bbox, filter, time, order, properties, CRS) that items, exports, tiles and analyses all read;
`features` runs it (pages of GeoJSON, rows for exports, search); `crs` reads the CRS
parameters of OGC API Features Part 2. The SQL of features lives here and nowhere else.
"""
