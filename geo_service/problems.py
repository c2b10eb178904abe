"""Messages of errors in English and French: a code and its parameters, said as a sentence.

An error is raised deep inside with `msg(code, **params)`: a str holding the English sentence
(what logs, the command line and `str(exc)` show) that remembers its code and parameters, so
that api/errors.py can say it again in the reader's language (`in_language`). A plain str, not
made by `msg`, is said as it is in every language; the reader's language is `pick_language`'s
(`?lang=`, else Accept-Language). Templates name their parameters `{name}`; `{name:n}` writes a
number as en-GB or fr-FR do (`{name:n2}`: with up to 2 decimals, see analysis/messages.number),
and a parameter may itself be a message. A `_one` variant of a code wins when the parameter
`count` is 1. French templates are written with plain spaces; the no-break spaces of French
typography (before : ; ? ! and inside « ») are put in on loading.

    >>> detail = msg("layers.unknown", layers="rivieres")
    >>> detail, in_language(detail, "fr")
    ('No layer named rivieres', 'Aucune couche nommée rivieres')
"""

from __future__ import annotations

import numbers
import re
import string
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import reduce
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from geo_service.analysis.messages import Lang

_EXAMPLES_EN = "(e.g. latin-1, cp1252)"
_EXAMPLES_FR = "(par ex. latin-1, cp1252)"

_EN: dict[str, str] = {
    # Titles of the problems: one per error class (errors.py), then the API's own.
    "title.request": "Request cannot be processed",
    "title.invalid_input": "Invalid input",
    "title.invalid_geometry": "Invalid geometry",
    "title.invalid_attributes": "Attributes do not fit the layer's kind",
    "title.invalid_crs": "Unknown or unusable coordinate reference system",
    "title.unsupported_format": "Unsupported file format",
    "title.broken_file": "The file cannot be read",
    "title.payload_too_large": "Upload too large",
    "title.not_found": "Not found",
    "title.unknown_layer": "Unknown layer",
    "title.unknown_feature": "Unknown feature",
    "title.conflict": "Conflict",
    "title.precondition_failed": "Precondition failed",
    "title.unauthorized": "Access key needed",
    "title.forbidden": "Forbidden",
    "title.too_many_requests": "Too many requests",
    "title.database_unavailable": "Database unavailable",
    "title.invalid_request": "Invalid request",
    "title.malformed_json": "Malformed JSON",
    "title.body_too_large": "Body too large",
    "title.http_error": "HTTP error",
    "title.internal_error": "Internal error",
    # Lists and choices inside messages.
    "list.more": "{items} and {more:n} more",
    "list.nothing": "nothing",
    "list.none": "none",
    "list.or": "{items} or {last}",
    "list.then": "{first}; {then}",
    # HTTP errors of the framework (an unknown address, a method a route does not take).
    "http.not_found": "Not Found",
    "http.method_not_allowed": "Method Not Allowed",
    "error.unexpected": "An unexpected error occurred",
    # Validation of parameters and bodies by FastAPI (pydantic's error types).
    "validation.at": "{where}: {message}",
    "validation.missing": "Field required",
    "validation.extra_forbidden": "Extra inputs are not permitted",
    "validation.int_parsing": "Input should be a valid integer, unable to parse string as an integer",
    "validation.int_type": "Input should be a valid integer",
    "validation.int_from_float": "Input should be a valid integer, got a number with a fractional part",
    "validation.float_parsing": "Input should be a valid number, unable to parse string as a number",
    "validation.float_type": "Input should be a valid number",
    "validation.finite_number": "Input should be a finite number",
    "validation.bool_parsing": "Input should be a valid boolean, unable to interpret input",
    "validation.bool_type": "Input should be a valid boolean",
    "validation.string_type": "Input should be a valid string",
    "validation.string_too_short": "String should have at least {count} characters",
    "validation.string_too_short_one": "String should have at least 1 character",
    "validation.string_too_long": "String should have at most {count} characters",
    "validation.string_too_long_one": "String should have at most 1 character",
    "validation.string_pattern_mismatch": "String should match pattern '{pattern}'",
    "validation.too_short": "Should have at least {count} items, not {actual_length}",
    "validation.too_short_one": "Should have at least 1 item, not {actual_length}",
    "validation.too_long": "Should have at most {count} items, not {actual_length}",
    "validation.too_long_one": "Should have at most 1 item, not {actual_length}",
    "validation.greater_than": "Input should be greater than {gt}",
    "validation.greater_than_equal": "Input should be greater than or equal to {ge}",
    "validation.less_than": "Input should be less than {lt}",
    "validation.less_than_equal": "Input should be less than or equal to {le}",
    "validation.literal_error": "Input should be {expected}",
    "validation.enum": "Input should be {expected}",
    "validation.dict_type": "Input should be a valid dictionary",
    "validation.model_attributes_type": "Input should be a valid dictionary or object to extract fields from",
    "validation.list_type": "Input should be a valid list",
    "validation.json_invalid": "JSON decode error",
    "validation.datetime_parsing": "Input should be a date and time (RFC 3339, e.g. 2024-05-01T12:00:00Z)",
    "validation.datetime_from_date_parsing": "Input should be a date or a date and time (RFC 3339, e.g. 2024-05-01 or 2024-05-01T12:00:00Z)",
    "validation.datetime_type": "Input should be a valid datetime",
    "validation.date_from_datetime_parsing": "Input should be a date (e.g. 2024-05-01)",
    "validation.date_from_datetime_inexact": "Input should be a date without a time of day (e.g. 2024-05-01)",
    # The checks of the kinds' attributes across fields (domain/kinds.py).
    "validation.women_over_workers": "women_workers cannot exceed workers",
    "validation.expires_before_granted": "expires must not be before granted",
    "validation.expires_before_issued": "expires must not be before issued",
    "validation.cost_needs_currency": "rehabilitation_cost needs rehabilitation_currency (an ISO 4217 code such as XOF)",
    "validation.effective_to_before_from": "effective_to must not be before effective_from",
    # The body gate (api/guard.py).
    "guard.nul_in_url": "The URL holds a NUL character",
    "guard.too_large": "The JSON body exceeds the limit of {limit_mb:n3} MiB; send large data as a file to /layers/{{slug}}/import",
    "guard.not_json": "The body is not valid JSON: {reason}: line {line} column {column} (char {char})",
    "guard.too_deep": "The body nests deeper than {max_depth} levels (at {where})",
    "guard.nul_in_text": "Text at {where} holds a NUL character (\\u0000), which cannot be stored",
    "guard.nul_in_name": "A member name in {where} holds a NUL character (\\u0000)",
    # What JSON parsers say (orjson), when we know it.
    "json.end_of_data": "unexpected end of data",
    "json.unexpected_character": "unexpected character",
    "json.expected_value": "unexpected character, expected a JSON value",
    "json.infinity": "number is infinity when parsed as double",
    "json.trailing_comma": "trailing comma is not allowed",
    "json.after_document": "unexpected content after document",
    "json.no_low_surrogate": "no low surrogate in string",
    # Rate limits (api/limits.py).
    "rate.key": "Too many {what} for this key; try again in {seconds} s",
    "rate.address": "Too many {what} for this address; try again in {seconds} s",
    "rate.analyses": "analyses",
    "rate.screenings": "screenings",
    "rate.imports": "imports",
    "rate.exports": "exports",
    # The database (api/errors.py, db/engine.py).
    "db.out_of_range": "A value is out of range or malformed",
    "db.conflict": "The change conflicts with data already stored",
    "db.collision": "The change collided with another one; try it again",
    "db.timeout": "The database took too long to answer; try again later",
    "db.short": "The database is short of connections, memory or disk; try again later",
    "db.unavailable": "The database cannot be reached; try again in a few seconds",
    "db.failed": "The database could not carry out the request",
    "db.not_running": "the embedded database is not running",
    "db.no_answer": "the database at {address} does not answer within {seconds} s",
    "db.login_refused": "the database at {address} refuses the configured user or password",
    "db.no_database": "the database at {address} has no database named {name!r}",
    "db.starting": "the database at {address} is starting up, shutting down or recovering",
    "db.full": "the database at {address} is out of connection slots, memory or disk",
    "db.refuses": "the database at {address} refuses connections",
    "db.unreachable": "the database at {address} cannot be reached",
    # Who may do what (domain/access.py, api/deps.py, db/access.py).
    "access.needs_key": "An access key with the role {role} or higher is needed for {action}: send it as `Authorization: Bearer <key>` or `X-API-Key`",
    "access.role_too_low": "The key '{name}' has the role {role}; the role {needed} is needed for {action}",
    "access.this": "this",
    "access.change": "this change",
    "access.manage": "managing layers and keys",
    "access.import": "importing a file",
    "access.tiles_only": "The key '{name}' serves tiles only (tiles, TileJSON, the embed page)",
    "access.origin": "The key '{name}' may be used only from {origins}",
    "access.origin_not": "The key '{name}' may be used only from {origins}, not from {origin}",
    "access.visibility": "visibility must be one of {choices}",
    "visibility.internal": "internal",
    "visibility.private": "private",
    "key.name": "A key's name is 1-63 letters (accents too), digits, spaces and . , ' & @ ( ) - _, starting with a letter or digit",
    "key.unknown_role": "Unknown role '{role}'; roles: {roles}",
    "key.exists": "A key named '{name}' exists already",
    "key.origin": "An origin is a scheme and a host, such as https://partner.org: not '{origin}'",
    "key.unknown": "No key named '{name}'",
    "key.refused": "The access key is unknown or has been revoked",
    # Jobs (jobs.py).
    "job.unknown": "No job '{job}'",
    "job.failed": "The job failed unexpectedly",
    # Geometries (domain/geometry.py) and what GEOS says of invalid ones (`at`: "[x y]").
    "geometry.not_geojson": "Geometry must be a GeoJSON geometry object",
    "geometry.malformed": "Malformed GeoJSON geometry: {reason}",
    "geometry.empty": "Geometry is empty",
    "geometry.out_of_range": "Coordinates out of longitude/latitude range (bounds {bounds}): GeoJSON must be in EPSG:4326; projected data must be imported as a file that names its CRS",
    "geometry.invalid": "Invalid geometry: {reason}{at}",
    "geometry.unrepairable": "Invalid geometry that cannot be repaired: {reason}{at}",
    "geos.self_intersection": "Self-intersection",
    "geos.ring_self_intersection": "Ring Self-intersection",
    "geos.too_few_points": "Too few points in geometry component",
    "geos.hole_outside_shell": "Hole lies outside shell",
    "geos.nested_holes": "Holes are nested",
    "geos.disconnected_interior": "Interior is disconnected",
    "geos.nested_shells": "Nested shells",
    "geos.duplicate_rings": "Duplicate Rings",
    "geos.unclosed_ring": "Ring is not closed",
    "geos.invalid_coordinate": "Invalid Coordinate",
    # Zip archives (io/archive.py).
    "zip.no_end": "'{file}' is not a readable zip archive: no end of central directory",
    "zip.unreadable": "'{file}' is not a readable zip archive: {reason}",
    "zip.directory_too_large": "'{file}' has a central directory of {size:n} bytes, too large for the {entries:n} entries accepted",
    "zip.absolute": "'{file}' is refused: its entry '{entry}' is an absolute path",
    "zip.drive": "'{file}' is refused: its entry '{entry}' starts with a drive letter",
    "zip.climbs": "'{file}' is refused: its entry '{entry}' climbs out of the archive with '..'",
    "zip.link": "'{file}' is refused: its entry '{entry}' is a symbolic link",
    "zip.encrypted": "'{file}': the entry '{entry}' is encrypted; send the archive without a password",
    "zip.expands": "'{file}' expands to more than {max_mb:n} MiB, the largest accepted (reached at the entry '{entry}')",
    "zip.bomb": "'{file}' looks like a zip bomb: its entry '{entry}' expands {ratio:n} times ({size_mb:n1} MiB from {compressed:n} bytes); at most {max_ratio:n2} times is accepted",
    "zip.entries": "'{file}' holds {count:n} entries; at most {max:n} are accepted (the first one beyond is '{entry}')",
    "zip.twice": "'{file}' holds two entries named '{entry}'",
    "zip.no_shapefile": "The zip archive '{file}' holds no Shapefile (.shp); it holds: {members}",
    "zip.no_such_shapefile": "'{file}' has no Shapefile '{table}'; its Shapefiles: {shapefiles}",
    "zip.shapefiles": "'{file}' holds {count:n} Shapefiles ({shapefiles}): choose one with the `table` field (--table), by its name or its path inside the zip, {each}",
    "zip.shapefiles_named": "'{file}' holds {count:n} Shapefiles named '{table}' ({shapefiles}): choose one with the `table` field (--table), by its name or its path inside the zip",
    "zip.suffix_case": "'{file}': GDAL cannot open '{entry}': rename its files with lower-case (.shp, .shx, .dbf) or upper-case suffixes",
    "zip.no_sidecar": "'{file}': the Shapefile '{entry}' has no {sidecar} beside it ('{expected}'): zip every file of the Shapefile (.shp, .shx, .dbf, and .prj, .cpg when there are)",
    # Character encodings (io/encodings.py) and what Python's codecs say.
    "encoding.unknown": f"Unknown encoding '{{encoding}}': name a character encoding {_EXAMPLES_EN}",
    "encoding.declared_unknown": f"'{{file}}' declares the encoding '{{encoding}}', which we do not know: give the file's encoding in the `encoding` option {_EXAMPLES_EN}",
    "encoding.undecodable": f"'{{file}}' cannot be decoded as {{encoding}}: byte 0x{{byte}} at offset {{offset}} ({{reason}}); name the file's encoding in the `encoding` option {_EXAMPLES_EN}",
    "encoding.not_utf8": "'{file}' is not valid UTF-8: byte 0x{byte} at offset {offset} ({reason}); {rule}: {hint}",
    "encoding.rule_geojson": "GeoJSON must be UTF-8 (RFC 7946)",
    "encoding.rule_csv": "a CSV is read as UTF-8",
    "encoding.rule_kml": "a KML that declares no encoding is UTF-8",
    "encoding.hint_utf16": "it starts with a UTF-16 byte-order mark: pass encoding utf-16 in the `encoding` option, or re-save it as UTF-8",
    "encoding.hint_resave": f"re-save it as UTF-8, or pass its encoding in the `encoding` option {_EXAMPLES_EN}",
    "encoding.unstorable": "'{file}' holds {what} at line {line}, column {column} (after '{before}'), which PostgreSQL cannot store: remove it from the file",
    "codec.invalid_start_byte": "invalid start byte",
    "codec.invalid_continuation_byte": "invalid continuation byte",
    "codec.unexpected_end": "unexpected end of data",
    "codec.undefined": "character maps to <undefined>",
    "character.nul": "a NUL character (U+0000)",
    "character.nul_escape": "the escape \\u0000 (a NUL character)",
    "character.surrogate_escape": "the escape {escape} (half of a UTF-16 surrogate pair, without the other)",
    "character.lone_surrogate": "a lone surrogate (U+{codepoint}), which is no character",
    # File formats (io/formats.py).
    "format.unsupported": "'{file}' is not a format we read: send GeoJSON, GeoPackage, a zipped Shapefile, CSV (lon/lat or WKT column), KML, FlatGeobuf, GeoParquet or a GeoTIFF",
    "format.unknown_export": "Unknown export format '{format}'; choose one of {formats}",
    # Reading files (io/read.py, io/raster.py).
    "read.unreadable": "'{file}' cannot be read: {reason}",
    "read.no_table": "'{file}' has no table '{table}'; its tables: {tables}",
    "read.tables": "'{file}' holds {count:n} tables ({tables}): choose one with the `table` field (--table), {each}",
    "read.not_decodable": "'{file}': {at} is not valid {encoding} (byte 0x{byte}){hint}",
    "read.at_field_name": "the name of the field '{field}'",
    "read.at_value": "feature {index}, field '{field}'",
    "read.give_encoding": f": give its encoding in the `encoding` option {_EXAMPLES_EN}",
    "read.no_geometry": "'{file}' has no geometry: a CSV needs lon/lat (or longitude/latitude, x/y) columns or a WKT column named wkt or geometry",
    "read.not_finite": "'{file}': feature {index} has the {axis} {value!r} (column '{column}'): coordinates must be finite numbers",
    "read.no_placemarks": "'{file}' holds no placemarks",
    "read.unknown_crs": "Unknown CRS '{crs}': {reason}",
    "read.not_transformable": "'{file}': coordinates cannot be transformed from {crs} to EPSG:4326",
    "raster.no_crs": "'{file}' has no coordinate reference system",
    "raster.unreadable": "'{file}' cannot be read as a GeoTIFF: {reason}",
    # Imports (io/load.py, io/upload.py).
    "import.kind": "Layer '{layer}' holds {held} features, not {kind}",
    "import.raster_into_vector": "Layer '{layer}' is a vector layer; this file holds raster data",
    "import.vector_into_raster": "Layer '{layer}' is a raster layer; this file holds vector data",
    "import.no_field": "'{file}' has no field '{field}' ({option}); its fields: {fields}",
    "import.no_geometry": "missing or unreadable geometry",
    "import.not_finite": "'{file}': feature {index} has a coordinate that is not a finite number ({reason}): NaN and infinity cannot be stored",
    "import.nothing": "'{file}': no features to import: the file holds {total:n} feature(s)",
    "import.all_rejected": "'{file}': no features to import: the file holds {total:n} feature(s) and all {rejected:n} were rejected (first, feature {index}: {reason})",
    "import.unstorable": "holds {what}: PostgreSQL cannot store it",
    "import.attributes": "'{file}': {count:n} attribute problem(s) for kind '{kind}'; first at feature {index}: {field}: {message}",
    "import.no_key": "'{file}': feature {index} has no value for the upsert key '{key}'",
    "import.same_key": "'{file}': features {first} and {index} share the upsert key {key}={value!r}",
    "upload.one_file": "Send one file per import",
    "upload.long_field": "Form field '{field}' is longer than {max:n} bytes",
    "upload.too_large": "The upload exceeds the limit of {limit_mb:n3} MiB",
    "upload.not_multipart": "Send the file as multipart/form-data in a part named 'file'",
    "upload.no_file": "No file in the upload: send it in a part named 'file'",
    # Reading features (store/features.py).
    "select.datetime": "datetime '{value}' is not RFC 3339 (2024-05-01 or 2024-05-01T12:00:00Z)",
    "tiles.as_of": "as_of '{value}' is not a past day or instant (2025-05-01 or 2025-05-01T12:00:00Z)",
    "feature.unknown": "No feature {id} in layer '{layer}'",
    # Tiles (tiles/).
    "layers.unknown": "No layer named {layers}",
    "tiles.no_layer": "Name at least one layer",
    "tiles.raster_layer": "Layer '{layer}' is a raster layer: ask for .png tiles",
    "tiles.vector_layer": "Layer '{layer}' is a vector layer: ask for .mvt tiles",
    "tiles.zoom": "Zoom {z} is outside 0..{maxzoom}",
    "tiles.outside": "Tile {z}/{x}/{y} is outside the tile matrix (0..{last} at zoom {z})",
    "tiles.colormap": "Unknown colormap '{colormap}'; try viridis, magma, greys, rdylgn, terrain...",
    "tiles.no_raster_file": "This raster layer has no file attached",
    "tiles.raster_unreadable": "The layer's raster file cannot be read: {reason}",
    "tiles.mixed": "Vector and raster layers cannot share one tile source",
    "pmtiles.zooms": "Zooms must satisfy 0 <= minzoom <= maxzoom <= {maxzoom}",
    "pmtiles.not_public": "Layer '{layer}' is {visibility}: an archive would publish it; export it with --allow-private if that is what you want",
    "pmtiles.empty": "Layer '{layer}' has no features to export",
    "tiles.no_tms": "No tile matrix set '{tms}'; this service uses {id}",
    "bbox.degrees": "bbox must be minLon,minLat,maxLon,maxLat in degrees, min < max",
    "embed.no_asset": "No embed asset '{name}'",
    # Layers and features (store/layers.py).
    "layer.unknown": "No layer named '{layer}'",
    "layer.not_owner": "Layer '{layer}' may be changed only by an admin or by the editor who owns it, and the key '{name}' is neither",
    "layer.bad_slug": "Layer slug '{slug}' must be 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit",
    "layer.exists": "A layer named '{slug}' exists already",
    "style.no_values": "No feature of layer '{layer}' has a value for '{field}'",
    "access.manage_layer": "managing a layer (an admin, or the editor who owns it)",
    "access.add_feature": "adding a feature",
    "access.change_feature": "changing a feature",
    "access.delete_feature": "deleting a feature",
    "access.restore_feature": "restoring a feature",
    "feature.gone": "Feature {id} of layer '{layer}' no longer exists",
    "feature.stale": "Feature {id} is at version {version}, not {expected}: someone else changed it since you read it; reload it and make your change again",
    "feature.needs_geometry": "Replacing a feature needs its geometry",
    "feature.no_version": "Feature {id} of layer '{layer}' has no earlier version {version}",
    "feature.no_history": "No feature {id} in layer '{layer}' and no history",
    "zone.override_status": "An override applies only to an ASM zone made '{status}'",
    "zone.override_move": "An override applies only to a move to '{status}'; this change moves the zone from '{before}' to '{after}'",
    "zone.needs_comment": "Moving an ASM zone from '{before}' to '{after}' needs a comment saying why (a \"comment\" member beside \"properties\")",
    "zone.new": "The ASM zone",
    "zone.numbered": "ASM zone {id}",
    "zone.fails_rules": '{zone} fails {count:n} screening rules and is not gazetted: {reasons}. To gazette it all the same, say why in an "override" member: {{"override": {{"reason": "..."}}}} (kept in its history)',
    "zone.fails_rules_one": '{zone} fails 1 screening rule and is not gazetted: {reasons}. To gazette it all the same, say why in an "override" member: {{"override": {{"reason": "..."}}}} (kept in its history)',
    "zone.admin_delete": 'ASM zone {id} is {status}: only an admin may delete it; retire it instead (a move to "retired" with a comment, which keeps its history)',
    # Kinds and their lifecycles (domain/kinds.py).
    "kind.unknown": "Unknown kind '{kind}'; known kinds: {kinds}",
    "kind.attributes": "Attributes do not fit kind '{kind}': {summary}",
    "kind.geometry": "A {kind} feature must be one of {allowed}, not {type}",
    "theme.unknown": "Unknown theme '{theme}'; known themes: {themes}",
    "zone.move": "An ASM zone cannot move from '{current}' to '{new}'; allowed: {moves}",
    "zone.no_moves": "none (retired is final)",
    # Styles of layers (domain/styles.py).
    "style.colour": "A colour is written #rrggbb, e.g. #1f77b4",
    "style.members": "A style has only {members}; not {unknown}",
    "style.by": "style.by names an attribute",
    "style.categories_by": "style.categories colour the values of an attribute: name it in style.by",
    "style.categories": "style.categories is an object of at most 100 {{value: colour}}",
    # Parameters and bodies of OGC API Features (api/features.py).
    "bbox.order": "bbox must be minLon,minLat,maxLon,maxLat with min <= max",
    "crs.content_crs": "Coordinates must be longitude/latitude in <{crs84}> (RFC 7946), not {value}; import projected data as a file that names its CRS",
    "crs.member": "The body's crs member names {name!r}: GeoJSON coordinates must be longitude/latitude on WGS84 (RFC 7946); import projected data as a file",
    "feature.not_feature": 'The body must be a GeoJSON Feature ("type": "Feature")',
    "feature.no_geometry": "The feature needs a geometry",
    "feature.properties": "properties must be an object",
    "feature.comment": "comment must be a text",
    "zone.override": 'override must be {{"reason": "why the zone is gazetted despite the rules it fails"}} with a reason of 1 to {max:n} characters',
    "feature.if_match": "If-Match must be an ETag of this API",
    # Analyses (analysis/).
    "analysis.storage": "Layer '{layer}' is a {storage} layer; this analysis needs a {needed} layer",
    "storage.vector": "vector",
    "storage.raster": "raster",
    "filter.object": "A filter must be an object of {{property: value}}",
    "filter.empty": "Filter on '{key}' lists no values",
    "filter.lang": "filter-lang '{lang}' is not one this API reads: {langs}",
    "filter.too_long": "The filter is longer than {max:n} characters",
    "filter.syntax": "The filter is not valid {lang}: {said}",
    "filter.unknown_property": "The filter names '{name}', which is not a queryable of this collection; its queryables: {queryables}",
    "filter.too_deep": "The filter nests more than {max:n} levels",
    "filter.number": "The filter holds a number that is not finite: {value}",
    "filter.unsupported": "This API does not support '{construct}' in filters (see /conformance for the CQL2 classes it does)",
    "filter.geometry": "The filter holds a geometry that cannot be read: {said}",
    "filter.bbox": "A BBOX in a filter has 4 or 6 numbers",
    "filter.types": "The filter compares a {left} with a {right}",
    "filter.not_condition": "The filter must be a condition (true or false), not {said}",
    "filter.in_list": "IN needs a list of one value or more",
    "filter.distance": "S_DWITHIN needs a distance of 0 or more and a unit: {units}",
    "filter.array": "{op} compares an attribute with a list of values",
    "filter.arity": "{op} takes {n:n} arguments, not {given:n}",
    "filter.date": "'{value}' is not a date (YYYY-MM-DD)",
    "filter.timestamp": "'{value}' is not an RFC 3339 timestamp with a time zone (2024-05-01T12:00:00Z)",
    "filter.crs_param": "filter-crs is only for a filter: send filter too",
    "crs.unknown": "{parameter} '{value}' is not a CRS this API knows: name an EPSG code (http://www.opengis.net/def/crs/EPSG/0/32629, EPSG:32629) or CRS84",
    "params.unknown": "Unknown query parameter{s} {names}; this resource takes: {known}",
    "params.repeated": "Query parameter {name} is given {count:n} times; give it once",
    "sortby.unknown": "sortby names '{name}', which is not a sortable property of this collection; its properties: {known}",
    "properties.unknown": "properties names '{name}', which is not a property of this collection; its properties: {known}",
    "fields.list": '{side}_fields must be a list of attribute names or "*"',
    "fields.empty": "{option} names an empty attribute",
    "fields.unknown": "Layer '{layer}' has no attribute '{field}' ({option}); its attributes: {known}",
    "fields.none": "none",
    "lang.unknown": "Unknown language '{lang}': use one of {langs}",
    "overlap.negative": "min_overlap_ha must not be negative",
    "proximity.k": "k must be at least 1",
    "proximity.none": "Give k, within_m or both",
    "proximity.negative": "within_m must not be negative",
    "screen.rules": "Invalid screening rules: {detail}",
    "screen.polygon": "A zone to screen must be a Polygon or MultiPolygon, not {type}",
    "screen.either": "Give either a geometry or a zone_id",
    "screen.unknown": "No feature {id} to screen",
    "screen.no_area": "The zone has no area",
    "sensitivity.generalised_area": "You see the location of feature {id} of layer '{layer}' generalised: at your clearance it cannot serve as an area to analyse",
    # Permits and enforcement (domain/enforcement.py, store/enforcement.py, analysis/permits.py).
    "permit.final": "A {status} permit can no longer change: no {event}",
    "permit.renewal_expiry": 'A renewal needs the new expiry: give "new_expires"',
    "permit.renewal_later": "A renewal's new expiry ({new}) must be after the current one ({old})",
    "permit.transfer_holder": 'A transfer needs the new holder: give "new_holder"',
    "permit.transfer_same": "The permit is already held by {holder}: a transfer goes to another holder",
    "permit.event_comment": "permit {event}",
    "monitoring.table": "No table '{table}': one of {tables}",
    "monitoring.figure_by": "Figures of {subject} cannot be counted by {by}: by one of {allowed}",
    "monitoring.records": "monitoring records (visits, incidents, actions)",
    "permit.not_permit": "Feature {id} of layer '{layer}' is not an ASM permit (the layer is a {kind} layer)",
    "permit.not_permit_layer": "Layer '{layer}' is a {kind} layer; permit flags need an ASM permit layer",
    "permit.zone_pair": "Give zone_layer and zone together (the zone layer's slug and the zone's id)",
    "permit.flag_outside": "A mining permit outside every gazetted ASM zone",
    "permit.flag_expired": "Past expiry: expired on {expires} (checked on {as_of})",
    "sanction.fine_amount": 'A fine needs an "amount" and a "currency"',
    "sanction.amount_only_fine": "Only a fine has an amount and a currency, not a {kind}",
    "sanction.no_finding": "Finding {finding} is not a finding of an inspection of feature {id} of layer '{layer}': a sanction answers a recorded finding",
    "sanction.unknown": "Feature {id} of layer '{layer}' has no sanction {sanction}",
    "closure.not_closure": "A {kind} is not a closure: only a closure has steps and a census",
    "closure.out_of_order": "A closure's steps come in order: the next one is {expected}, not {step}",
    "closure.complete": "none (the closure is complete)",
    "exposure.within": "within_m must be more than 0 and at most {max:n} metres, not {within:n}",
    "exposure.not_kind": "Layer '{layer}' is a {kind} layer; this analysis needs a {needed} layer",
    # Zoning land for ASM (analysis/available_land.py, store/zoning.py).
    "land.region": 'region must be a GeoJSON (Multi)Polygon or {{"layer": slug, "id": feature id}}',
    "land.no_area": "The region has no area: give a Polygon or MultiPolygon, or a polygon feature",
    "land.minerals_need_near": 'minerals choose the deposits the land must be near: give a "near" layer (mine sites, deposits) with them',
    "land.negative": "{field} must not be negative",
    "land.not_zone_layer": "Layer '{layer}' is a {kind} layer; a draft zone goes into an ASM zone layer",
    "zone.needs_decree": 'Gazetting ASM zone {id} needs the legal reference of its decree: give "decree_ref" in its properties (e.g. "Arrêté 2026-031/MMG")',
    "zone.needs_consent": "{zone} overlaps {count:n} titles whose holders have not consented: {titles}. Record each holder's consent (POST /layers/{layer}/features/{id}/consents) before gazetting it",
    "zone.needs_consent_one": "{zone} overlaps 1 title whose holder has not consented: {titles}. Record the holder's consent (POST /layers/{layer}/features/{id}/consents) before gazetting it",
    "zone.not_zone": "Feature {id} of layer '{layer}' is not an ASM zone",
    "zone.no_transition": "ASM zone {id} has no recorded transition {transition}",
    "consent.not_title": "Feature {id} is not a mining title (a concession) you may read",
    # Country risk, regions, the Kimberley Process (domain/country_risk.py, store/country_risk.py).
    "risk.bad_value": "Row {row}, column {column}: '{value}' is not one of {allowed}; nothing was imported",
    "risk.iso3": "an ISO 3166-1 alpha-3 country code (e.g. CIV)",
    "risk.columns": "The CSV has no column {missing} (row 1); its columns may be {columns}, in English or French",
    "risk.empty": "The CSV has no ratings: a header row (iso3, category, level...) and one row per rating",
    "risk.too_many": "The CSV has more than {max:n} ratings",
    "risk.not_text": "The CSV is not UTF-8 or Latin-1 text",
    "risk.no_file": 'Send the CSV as the "file" part of a multipart form',
    "region.unknown": "No region {region}; known: {regions}",
    "zonal.no_file": "Raster layer '{raster}' has no readable file",
    "zonal.polygons": "Zones must be polygons",
    "zonal.unreadable": "Raster of '{raster}' cannot be read: {reason}",
    "zonal.band": "Band {band} not in 1..{bands}",
    # Health (api/health.py).
    "health.busy": "every database connection of this process is busy",
    "health.failed": "the database failed the health query",
    "health.failed_state": "the database failed the health query (SQLSTATE {state})",
    # Field and value mappings on import (io/mapping.py), several tables, GeoParquet.
    "mapping.not_json": "The mapping is not valid JSON: {reason}",
    "mapping.not_object": "The mapping's {member} must be a JSON object",
    "mapping.not_an_object": 'The mapping must be a JSON object: {{"fields": {{kind field: source field}}, "values": {{kind field: {{source value: value}}}}}}',
    "mapping.unknown_member": "The mapping has no member '{member}'; its members: {members}",
    "mapping.bad_field": "The mapping's fields give '{field}' the source {source!r}: name a field of the file",
    "mapping.bad_value": "The mapping's values map '{value}' of '{field}' to something that is neither a text, a number, true, false nor null",
    "mapping.unknown_field": "The mapping names '{field}' in {member}, which is not a field of kind '{kind}'; its fields: {fields}",
    "mapping.value_refused": "The mapping maps '{source}' of '{field}' to {value!r}, which kind '{kind}' refuses: {reason}",
    "mapping.no_source": "'{file}' has no field '{source}', the mapping's source of '{field}'; its fields: {fields}",
    "mapping.no_values_field": "The mapping maps values of '{field}', a field that '{file}' does not have and the mapping does not fill; its fields: {fields}",
    "mapping.raster": "'{file}' is a GeoTIFF: it has no fields to map or preview",
    "read.parquet_not_geo": "'{file}' is a Parquet file without GeoParquet metadata ('geo'): write it with a GeoParquet writer (geopandas to_parquet, GDAL, DuckDB spatial)",
    "import.each_table": "or import each one as a layer of its own with the `each_table` field (--each-table)",
    "read.no_tables": "'{file}' holds no table with geometries",
    # Site monitoring (issue 18, store/monitoring.py)
    "monitoring.count_over": "{field} ({count}) cannot exceed the workers counted ({workers})",
    "monitoring.future": "{field} ({day}) is after today ({today}): a record is of what happened",
    "monitoring.unknown": "No {what} with id {id}",
    "monitoring.reviewer": "Verifying an incident needs an admin or a key of group reviewer",
    "monitoring.already_verified": "Incident {id} is already {verification}: a verdict is given once",
    "monitoring.backwards": "An action goes recommended, in progress, done: it is {current}, not back to {status}",
    "monitoring.progress_before": "Progress on {day} is before the action's last step ({last})",
    "monitoring.incident_site": "Incident {id} is not on this site",
    "monitoring.not_image": "The photo is not a JPEG, PNG or WebP image (by its content)",
    "monitoring.too_big": "The photo ({size} bytes) is over the limit of {limit} bytes",
    "monitoring.range": "from ({start}) is after to ({end})",
}

_FR: dict[str, str] = {
    "title.request": "Requête impossible à traiter",
    "title.invalid_input": "Données invalides",
    "title.invalid_geometry": "Géométrie invalide",
    "title.invalid_attributes": "Attributs non conformes au type de la couche",
    "title.invalid_crs": "Système de coordonnées inconnu ou inutilisable",
    "title.unsupported_format": "Format de fichier non pris en charge",
    "title.broken_file": "Fichier illisible",
    "title.payload_too_large": "Envoi trop volumineux",
    "title.not_found": "Introuvable",
    "title.unknown_layer": "Couche inconnue",
    "title.unknown_feature": "Entité inconnue",
    "title.conflict": "Conflit",
    "title.precondition_failed": "Condition préalable non remplie",
    "title.unauthorized": "Clé d'accès requise",
    "title.forbidden": "Accès refusé",
    "title.too_many_requests": "Trop de requêtes",
    "title.database_unavailable": "Base de données indisponible",
    "title.invalid_request": "Requête invalide",
    "title.malformed_json": "JSON mal formé",
    "title.body_too_large": "Corps de requête trop volumineux",
    "title.http_error": "Erreur HTTP",
    "title.internal_error": "Erreur interne",
    "list.more": "{items} et {more:n} autres",
    "list.nothing": "rien",
    "list.none": "aucune",
    "list.or": "{items} ou {last}",
    "list.then": "{first} ; {then}",
    "http.not_found": "Aucune ressource à cette adresse",
    "http.method_not_allowed": "Méthode non autorisée à cette adresse",
    "error.unexpected": "Une erreur inattendue s'est produite",
    "validation.at": "{where} : {message}",
    "validation.missing": "Champ obligatoire",
    "validation.extra_forbidden": "Champ non autorisé",
    "validation.int_parsing": "Un nombre entier est attendu",
    "validation.int_type": "Un nombre entier est attendu",
    "validation.int_from_float": "Un nombre entier est attendu, pas un nombre à virgule",
    "validation.float_parsing": "Un nombre est attendu",
    "validation.float_type": "Un nombre est attendu",
    "validation.finite_number": "Un nombre fini est attendu",
    "validation.bool_parsing": "Un booléen est attendu (true ou false)",
    "validation.bool_type": "Un booléen est attendu (true ou false)",
    "validation.string_type": "Un texte est attendu",
    "validation.string_too_short": "Le texte doit compter au moins {count} caractères",
    "validation.string_too_short_one": "Le texte doit compter au moins 1 caractère",
    "validation.string_too_long": "Le texte doit compter au plus {count} caractères",
    "validation.string_too_long_one": "Le texte doit compter au plus 1 caractère",
    "validation.string_pattern_mismatch": "Le texte doit suivre le motif « {pattern} »",
    "validation.too_short": "Au moins {count} éléments sont attendus, pas {actual_length}",
    "validation.too_short_one": "Au moins 1 élément est attendu, pas {actual_length}",
    "validation.too_long": "Au plus {count} éléments sont acceptés, pas {actual_length}",
    "validation.too_long_one": "Au plus 1 élément est accepté, pas {actual_length}",
    "validation.greater_than": "La valeur doit être supérieure à {gt}",
    "validation.greater_than_equal": "La valeur doit être supérieure ou égale à {ge}",
    "validation.less_than": "La valeur doit être inférieure à {lt}",
    "validation.less_than_equal": "La valeur doit être inférieure ou égale à {le}",
    "validation.literal_error": "Valeur attendue : {expected}",
    "validation.enum": "Valeur attendue : {expected}",
    "validation.dict_type": "Un objet JSON est attendu",
    "validation.model_attributes_type": "Un objet JSON est attendu",
    "validation.list_type": "Une liste est attendue",
    "validation.json_invalid": "JSON illisible",
    "validation.datetime_parsing": "Une date et une heure sont attendues (RFC 3339, par ex. 2024-05-01T12:00:00Z)",
    "validation.datetime_from_date_parsing": "Une date, ou une date et une heure, est attendue (RFC 3339, par ex. 2024-05-01 ou 2024-05-01T12:00:00Z)",
    "validation.datetime_type": "Une date et une heure sont attendues",
    "validation.date_from_datetime_parsing": "Une date est attendue (par ex. 2024-05-01)",
    "validation.date_from_datetime_inexact": "Une date sans heure est attendue (par ex. 2024-05-01)",
    "validation.women_over_workers": "women_workers ne peut dépasser workers",
    "validation.expires_before_granted": "expires ne doit pas précéder granted",
    "validation.expires_before_issued": "expires ne doit pas précéder issued",
    "validation.cost_needs_currency": "rehabilitation_cost demande rehabilitation_currency (un code ISO 4217 comme XOF)",
    "validation.effective_to_before_from": "effective_to ne doit pas précéder effective_from",
    "guard.nul_in_url": "L'adresse (URL) contient un caractère NUL",
    "guard.too_large": "Le corps JSON dépasse la limite de {limit_mb:n3} Mio ; envoyez les gros volumes de données en fichier à /layers/{{slug}}/import",
    "guard.not_json": "Le corps n'est pas du JSON valide : {reason}, ligne {line}, colonne {column} (caractère {char})",
    "guard.too_deep": "Le corps imbrique plus de {max_depth} niveaux (en {where})",
    "guard.nul_in_text": "Le texte en {where} contient un caractère NUL (\\u0000), qui ne peut pas être enregistré",
    "guard.nul_in_name": "Un nom de membre dans {where} contient un caractère NUL (\\u0000)",
    "json.end_of_data": "fin des données inattendue",
    "json.unexpected_character": "caractère inattendu",
    "json.expected_value": "caractère inattendu là où une valeur JSON est attendue",
    "json.infinity": "nombre infini une fois lu en double précision",
    "json.trailing_comma": "virgule finale non autorisée",
    "json.after_document": "contenu inattendu après la fin du document",
    "json.no_low_surrogate": "demi-paire de substitution sans sa seconde moitié dans un texte",
    "rate.key": "Trop {what} pour cette clé d'accès ; réessayez dans {seconds} s",
    "rate.address": "Trop {what} depuis cette adresse ; réessayez dans {seconds} s",
    "rate.analyses": "d'analyses",
    "rate.screenings": "de vérifications de zone",
    "rate.imports": "d'imports",
    "rate.exports": "d'exports",
    "db.out_of_range": "Une valeur est hors limites ou mal formée",
    "db.conflict": "La modification entre en conflit avec des données déjà enregistrées",
    "db.collision": "La modification est entrée en collision avec une autre ; recommencez-la",
    "db.timeout": "La base de données a mis trop de temps à répondre ; réessayez plus tard",
    "db.short": "La base de données manque de connexions, de mémoire ou d'espace disque ; réessayez plus tard",
    "db.unavailable": "La base de données est injoignable ; réessayez dans quelques secondes",
    "db.failed": "La base de données n'a pas pu exécuter la requête",
    "db.not_running": "la base de données embarquée n'est pas démarrée",
    "db.no_answer": "la base de données à l'adresse {address} ne répond pas en {seconds} s",
    "db.login_refused": "la base de données à l'adresse {address} refuse l'utilisateur ou le mot de passe configurés",
    "db.no_database": "le serveur à l'adresse {address} n'a pas de base de données nommée {name!r}",
    "db.starting": "la base de données à l'adresse {address} est en train de démarrer, de s'arrêter ou de se rétablir",
    "db.full": "la base de données à l'adresse {address} n'a plus de connexions, de mémoire ou d'espace disque libres",
    "db.refuses": "la base de données à l'adresse {address} refuse les connexions",
    "db.unreachable": "la base de données à l'adresse {address} est injoignable",
    "access.needs_key": "Une clé d'accès de rôle {role} ou supérieur est nécessaire pour {action} : envoyez-la dans l'en-tête `Authorization: Bearer <clé>` ou `X-API-Key`",
    "access.role_too_low": "La clé « {name} » a le rôle {role} ; il faut le rôle {needed} pour {action}",
    "access.this": "cela",
    "access.change": "cette modification",
    "access.manage": "gérer les couches et les clés",
    "access.import": "importer un fichier",
    "access.tiles_only": "La clé « {name} » ne sert qu'aux tuiles (tuiles, TileJSON, page à intégrer)",
    "access.origin": "La clé « {name} » ne peut être utilisée que depuis {origins}",
    "access.origin_not": "La clé « {name} » ne peut être utilisée que depuis {origins}, pas depuis {origin}",
    "access.visibility": "visibility doit prendre l'une des valeurs : {choices}",
    "visibility.internal": "interne",
    "visibility.private": "privée",
    "key.name": "Le nom d'une clé compte de 1 à 63 lettres (accentuées aussi), chiffres, espaces et . , ' & @ ( ) - _, et commence par une lettre ou un chiffre",
    "key.unknown_role": "Rôle « {role} » inconnu ; rôles : {roles}",
    "key.exists": "Une clé nommée « {name} » existe déjà",
    "key.origin": "Une origine est un schéma suivi d'un hôte, comme https://partenaire.org : pas « {origin} »",
    "key.unknown": "Aucune clé nommée « {name} »",
    "key.refused": "La clé d'accès est inconnue ou a été révoquée",
    "job.unknown": "Aucune tâche « {job} »",
    "job.failed": "La tâche a échoué de manière inattendue",
    "geometry.not_geojson": "La géométrie doit être un objet géométrie GeoJSON",
    "geometry.malformed": "Géométrie GeoJSON mal formée : {reason}",
    "geometry.empty": "La géométrie est vide",
    "geometry.out_of_range": "Coordonnées hors des plages de longitude et de latitude (emprise {bounds}) : le GeoJSON doit être en EPSG:4326 ; les données projetées s'importent dans un fichier qui indique son système de coordonnées",
    "geometry.invalid": "Géométrie invalide : {reason}{at}",
    "geometry.unrepairable": "Géométrie invalide et irréparable : {reason}{at}",
    "geos.self_intersection": "Auto-intersection",
    "geos.ring_self_intersection": "Auto-intersection d'un anneau",
    "geos.too_few_points": "Trop peu de points dans une partie de la géométrie",
    "geos.hole_outside_shell": "Trou hors du contour extérieur",
    "geos.nested_holes": "Trous imbriqués",
    "geos.disconnected_interior": "Intérieur non connexe",
    "geos.nested_shells": "Contours extérieurs imbriqués",
    "geos.duplicate_rings": "Anneaux en double",
    "geos.unclosed_ring": "Anneau non fermé",
    "geos.invalid_coordinate": "Coordonnée invalide",
    "zip.no_end": "« {file} » n'est pas une archive zip lisible : la fin de son répertoire central est introuvable",
    "zip.unreadable": "« {file} » n'est pas une archive zip lisible : {reason}",
    "zip.directory_too_large": "« {file} » a un répertoire central de {size:n} octets, trop grand pour les {entries:n} entrées acceptées",
    "zip.absolute": "« {file} » est refusé : son entrée « {entry} » est un chemin absolu",
    "zip.drive": "« {file} » est refusé : son entrée « {entry} » commence par une lettre de lecteur",
    "zip.climbs": "« {file} » est refusé : son entrée « {entry} » sort de l'archive par « .. »",
    "zip.link": "« {file} » est refusé : son entrée « {entry} » est un lien symbolique",
    "zip.encrypted": "« {file} » : l'entrée « {entry} » est chiffrée ; envoyez l'archive sans mot de passe",
    "zip.expands": "« {file} » dépasse {max_mb:n} Mio une fois décompressé, le maximum accepté (atteint à l'entrée « {entry} »)",
    "zip.bomb": "« {file} » ressemble à une bombe de décompression : son entrée « {entry} » grossit {ratio:n} fois ({size_mb:n1} Mio pour {compressed:n} octets) ; au plus {max_ratio:n2} fois est accepté",
    "zip.entries": "« {file} » contient {count:n} entrées ; au plus {max:n} sont acceptées (la première en trop est « {entry} »)",
    "zip.twice": "« {file} » contient deux entrées nommées « {entry} »",
    "zip.no_shapefile": "L'archive zip « {file} » ne contient aucun Shapefile (.shp) ; elle contient : {members}",
    "zip.no_such_shapefile": "« {file} » ne contient pas de Shapefile « {table} » ; ses Shapefiles : {shapefiles}",
    "zip.shapefiles": "« {file} » contient {count:n} Shapefiles ({shapefiles}) : choisissez-en un avec le champ `table` (--table), par son nom ou son chemin dans le zip, {each}",
    "zip.shapefiles_named": "« {file} » contient {count:n} Shapefiles nommés « {table} » ({shapefiles}) : choisissez-en un avec le champ `table` (--table), par son nom ou son chemin dans le zip",
    "zip.suffix_case": "« {file} » : GDAL ne peut pas ouvrir « {entry} » : renommez ses fichiers avec des extensions toutes en minuscules (.shp, .shx, .dbf) ou toutes en majuscules",
    "zip.no_sidecar": "« {file} » : le Shapefile « {entry} » n'a pas de fichier {sidecar} à côté de lui (« {expected} ») : mettez dans le zip tous les fichiers du Shapefile (.shp, .shx, .dbf, et .prj, .cpg s'il y en a)",
    "encoding.unknown": f"Encodage « {{encoding}} » inconnu : indiquez un encodage de caractères {_EXAMPLES_FR}",
    "encoding.declared_unknown": f"« {{file}} » déclare l'encodage « {{encoding}} », que nous ne connaissons pas : indiquez l'encodage du fichier dans l'option `encoding` {_EXAMPLES_FR}",
    "encoding.undecodable": f"« {{file}} » ne peut pas être décodé en {{encoding}} : octet 0x{{byte}} à la position {{offset}} ({{reason}}) ; indiquez l'encodage du fichier dans l'option `encoding` {_EXAMPLES_FR}",
    "encoding.not_utf8": "« {file} » n'est pas de l'UTF-8 valide : octet 0x{byte} à la position {offset} ({reason}) ; {rule} : {hint}",
    "encoding.rule_geojson": "un GeoJSON doit être en UTF-8 (RFC 7946)",
    "encoding.rule_csv": "un CSV est lu en UTF-8",
    "encoding.rule_kml": "un KML qui ne déclare pas d'encodage est en UTF-8",
    "encoding.hint_utf16": "il commence par une marque d'ordre des octets UTF-16 : indiquez utf-16 dans l'option `encoding`, ou réenregistrez-le en UTF-8",
    "encoding.hint_resave": f"réenregistrez-le en UTF-8, ou indiquez son encodage dans l'option `encoding` {_EXAMPLES_FR}",
    "encoding.unstorable": "« {file} » contient {what} à la ligne {line}, colonne {column} (après « {before} »), que PostgreSQL ne peut pas enregistrer : retirez-le du fichier",
    "codec.invalid_start_byte": "octet de début invalide",
    "codec.invalid_continuation_byte": "octet de continuation invalide",
    "codec.unexpected_end": "fin des données inattendue",
    "codec.undefined": "caractère absent de cet encodage",
    "character.nul": "un caractère NUL (U+0000)",
    "character.nul_escape": "l'échappement \\u0000 (un caractère NUL)",
    "character.surrogate_escape": "l'échappement {escape} (une moitié de paire de substitution UTF-16, sans l'autre)",
    "character.lone_surrogate": "une moitié de paire de substitution isolée (U+{codepoint}), qui n'est pas un caractère",
    "format.unsupported": "« {file} » n'est pas dans un format que nous lisons : envoyez du GeoJSON, un GeoPackage, un Shapefile zippé, un CSV (colonnes lon/lat ou WKT), un KML, du FlatGeobuf, du GeoParquet ou un GeoTIFF",
    "format.unknown_export": "Format d'export « {format} » inconnu ; choisissez parmi {formats}",
    "read.unreadable": "« {file} » est illisible : {reason}",
    "read.no_table": "« {file} » n'a pas de table « {table} » ; ses tables : {tables}",
    "read.tables": "« {file} » contient {count:n} tables ({tables}) : choisissez-en une avec le champ `table` (--table), {each}",
    "read.not_decodable": "« {file} » : {at} n'est pas valide en {encoding} (octet 0x{byte}){hint}",
    "read.at_field_name": "le nom du champ « {field} »",
    "read.at_value": "la valeur du champ « {field} » de l'entité {index}",
    "read.give_encoding": f" : indiquez son encodage dans l'option `encoding` {_EXAMPLES_FR}",
    "read.no_geometry": "« {file} » n'a pas de géométrie : un CSV doit avoir des colonnes lon/lat (ou longitude/latitude, x/y) ou une colonne WKT nommée wkt ou geometry",
    "read.not_finite": "« {file} » : l'entité {index} a pour {axis} {value!r} (colonne « {column} ») : les coordonnées doivent être des nombres finis",
    "read.no_placemarks": "« {file} » ne contient aucun repère (placemark)",
    "read.unknown_crs": "Système de coordonnées « {crs} » inconnu : {reason}",
    "read.not_transformable": "« {file} » : les coordonnées ne peuvent pas être transformées de {crs} en EPSG:4326",
    "raster.no_crs": "« {file} » n'a pas de système de coordonnées de référence",
    "raster.unreadable": "« {file} » ne peut pas être lu comme un GeoTIFF : {reason}",
    "import.kind": "La couche « {layer} » contient des entités de type {held}, pas {kind}",
    "import.raster_into_vector": "La couche « {layer} » est vectorielle ; ce fichier contient des données raster",
    "import.vector_into_raster": "La couche « {layer} » est une couche raster ; ce fichier contient des données vectorielles",
    "import.no_field": "« {file} » n'a pas de champ « {field} » ({option}) ; ses champs : {fields}",
    "import.no_geometry": "géométrie absente ou illisible",
    "import.not_finite": "« {file} » : l'entité {index} a une coordonnée qui n'est pas un nombre fini ({reason}) : NaN et l'infini ne peuvent pas être enregistrés",
    "import.nothing": "« {file} » : aucune entité à importer : le fichier contient {total:n} entité(s)",
    "import.all_rejected": "« {file} » : aucune entité à importer : le fichier contient {total:n} entité(s), toutes rejetées ({rejected:n}) ; la première, l'entité {index} : {reason}",
    "import.unstorable": "contient {what} : PostgreSQL ne peut pas l'enregistrer",
    "import.attributes": "« {file} » : {count:n} problème(s) d'attributs pour le type « {kind} » ; le premier à l'entité {index} : {field} : {message}",
    "import.no_key": "« {file} » : l'entité {index} n'a pas de valeur pour la clé de mise à jour « {key} »",
    "import.same_key": "« {file} » : les entités {first} et {index} ont la même clé de mise à jour {key}={value!r}",
    "upload.one_file": "Envoyez un seul fichier par import",
    "upload.long_field": "Le champ de formulaire « {field} » dépasse {max:n} octets",
    "upload.too_large": "L'envoi dépasse la limite de {limit_mb:n3} Mio",
    "upload.not_multipart": "Envoyez le fichier en multipart/form-data dans une partie nommée « file »",
    "upload.no_file": "Aucun fichier dans l'envoi : envoyez-le dans une partie nommée « file »",
    "select.datetime": "datetime « {value} » n'est pas au format RFC 3339 (2024-05-01 ou 2024-05-01T12:00:00Z)",
    "tiles.as_of": "as_of « {value} » n'est ni un jour ni un instant passé (2025-05-01 ou 2025-05-01T12:00:00Z)",
    "feature.unknown": "Aucune entité {id} dans la couche « {layer} »",
    "layers.unknown": "Aucune couche nommée {layers}",
    "tiles.no_layer": "Nommez au moins une couche",
    "tiles.raster_layer": "La couche « {layer} » est une couche raster : demandez des tuiles .png",
    "tiles.vector_layer": "La couche « {layer} » est vectorielle : demandez des tuiles .mvt",
    "tiles.zoom": "Le niveau de zoom {z} est hors de 0..{maxzoom}",
    "tiles.outside": "La tuile {z}/{x}/{y} est hors de la grille de tuiles (0..{last} au zoom {z})",
    "tiles.colormap": "Palette de couleurs « {colormap} » inconnue ; essayez viridis, magma, greys, rdylgn, terrain…",
    "tiles.no_raster_file": "Cette couche raster n'a pas de fichier associé",
    "tiles.raster_unreadable": "Le fichier raster de la couche est illisible : {reason}",
    "tiles.mixed": "Des couches vectorielles et raster ne peuvent pas partager une même source de tuiles",
    "pmtiles.zooms": "Les niveaux de zoom doivent vérifier 0 <= minzoom <= maxzoom <= {maxzoom}",
    "pmtiles.not_public": "La couche « {layer} » est {visibility} : une archive la publierait ; exportez-la avec --allow-private si c'est bien ce que vous voulez",
    "pmtiles.empty": "La couche « {layer} » n'a aucune entité à exporter",
    "tiles.no_tms": "Aucun jeu de matrices de tuiles « {tms} » ; ce service utilise {id}",
    "bbox.degrees": "bbox doit être minLon,minLat,maxLon,maxLat en degrés, min < max",
    "embed.no_asset": "Aucun fichier d'intégration « {name} »",
    "layer.unknown": "Aucune couche nommée « {layer} »",
    "layer.not_owner": "La couche « {layer} » ne peut être modifiée que par un administrateur ou par l'éditeur qui la possède, et la clé « {name} » n'est ni l'un ni l'autre",
    "layer.bad_slug": "L'identifiant de couche « {slug} » doit compter de 1 à 63 lettres minuscules, chiffres, « - » ou « _ », et commencer par une lettre ou un chiffre",
    "layer.exists": "Une couche nommée « {slug} » existe déjà",
    "style.no_values": "Aucune entité de la couche « {layer} » n'a de valeur pour « {field} »",
    "access.manage_layer": "gérer une couche (un administrateur, ou l'éditeur qui la possède)",
    "access.add_feature": "ajouter une entité",
    "access.change_feature": "modifier une entité",
    "access.delete_feature": "supprimer une entité",
    "access.restore_feature": "restaurer une entité",
    "feature.gone": "L'entité {id} de la couche « {layer} » n'existe plus",
    "feature.stale": "L'entité {id} est à la version {version}, pas {expected} : quelqu'un l'a modifiée depuis que vous l'avez lue ; rechargez-la et refaites votre modification",
    "feature.needs_geometry": "Remplacer une entité demande sa géométrie",
    "feature.no_version": "L'entité {id} de la couche « {layer} » n'a pas de version antérieure {version}",
    "feature.no_history": "Aucune entité {id} dans la couche « {layer} » et aucun historique",
    "zone.override_status": "Une dérogation ne s'applique qu'à une zone d'orpaillage passée à « {status} »",
    "zone.override_move": "Une dérogation ne s'applique qu'à un passage à « {status} » ; cette modification fait passer la zone de « {before} » à « {after} »",
    "zone.needs_comment": 'Faire passer une zone d\'orpaillage de « {before} » à « {after} » demande un commentaire qui dit pourquoi (un membre "comment" à côté de "properties")',
    "zone.new": "La zone d'orpaillage",
    "zone.numbered": "La zone d'orpaillage {id}",
    "zone.fails_rules": '{zone} ne respecte pas {count:n} règles de vérification et n\'est pas classée : {reasons}. Pour la classer malgré tout, dites pourquoi dans un membre "override" : {{"override": {{"reason": "…"}}}} (conservé dans son historique)',
    "zone.fails_rules_one": '{zone} ne respecte pas une règle de vérification et n\'est pas classée : {reasons}. Pour la classer malgré tout, dites pourquoi dans un membre "override" : {{"override": {{"reason": "…"}}}} (conservé dans son historique)',
    "zone.admin_delete": "La zone d'orpaillage {id} a le statut « {status} » : seul un administrateur peut la supprimer ; retirez-la plutôt (passage à « retired » avec un commentaire, qui garde son historique)",
    "kind.unknown": "Type « {kind} » inconnu ; types connus : {kinds}",
    "kind.attributes": "Les attributs ne conviennent pas au type « {kind} » : {summary}",
    "kind.geometry": "Une entité {kind} doit être de l'un des types {allowed}, pas {type}",
    "theme.unknown": "Thème « {theme} » inconnu ; thèmes connus : {themes}",
    "zone.move": "Une zone d'orpaillage ne peut pas passer de « {current} » à « {new} » ; possibles : {moves}",
    "zone.no_moves": "aucun (« retired » est définitif)",
    "style.colour": "Une couleur s'écrit #rrggbb, par ex. #1f77b4",
    "style.members": "Un style ne comprend que {members} ; pas {unknown}",
    "style.by": "style.by nomme un attribut",
    "style.categories_by": "style.categories colore les valeurs d'un attribut : nommez-le dans style.by",
    "style.categories": "style.categories est un objet d'au plus 100 {{valeur: couleur}}",
    "bbox.order": "bbox doit être minLon,minLat,maxLon,maxLat avec min <= max",
    "crs.content_crs": "Les coordonnées doivent être en longitude/latitude dans <{crs84}> (RFC 7946), pas {value} ; importez les données projetées dans un fichier qui indique son système de coordonnées",
    "crs.member": "Le membre crs du corps nomme {name!r} : les coordonnées GeoJSON doivent être en longitude/latitude WGS84 (RFC 7946) ; importez les données projetées en fichier",
    "feature.not_feature": 'Le corps doit être une Feature GeoJSON ("type": "Feature")',
    "feature.no_geometry": "L'entité n'a pas de géométrie",
    "feature.properties": "properties doit être un objet",
    "feature.comment": "comment doit être un texte",
    "zone.override": 'override doit être {{"reason": "pourquoi la zone est classée malgré les règles qu\'elle ne respecte pas"}} avec une raison de 1 à {max:n} caractères',
    "feature.if_match": "If-Match doit être un ETag de cette API",
    "analysis.storage": "La couche « {layer} » est une couche {storage} ; cette analyse demande une couche {needed}",
    "storage.vector": "vectorielle",
    "storage.raster": "raster",
    "filter.object": "Un filtre est un objet {{propriété: valeur}}",
    "filter.empty": "Le filtre sur « {key} » ne donne aucune valeur",
    "filter.lang": "filter-lang « {lang} » n'est pas une langue que cette API lit : {langs}",
    "filter.too_long": "Le filtre dépasse {max:n} caractères",
    "filter.syntax": "Le filtre n'est pas du {lang} valide : {said}",
    "filter.unknown_property": "Le filtre nomme « {name} », qui n'est pas une propriété interrogeable de cette collection ; ses propriétés interrogeables : {queryables}",
    "filter.too_deep": "Le filtre imbrique plus de {max:n} niveaux",
    "filter.number": "Le filtre contient un nombre qui n'est pas fini : {value}",
    "filter.unsupported": "Cette API ne prend pas en charge « {construct} » dans les filtres (voir /conformance pour les classes CQL2 prises en charge)",
    "filter.geometry": "Le filtre contient une géométrie illisible : {said}",
    "filter.bbox": "Un BBOX dans un filtre a 4 ou 6 nombres",
    "filter.types": "Le filtre compare un {left} à un {right}",
    "filter.not_condition": "Le filtre doit être une condition (vraie ou fausse), pas {said}",
    "filter.in_list": "IN demande une liste d'au moins une valeur",
    "filter.distance": "S_DWITHIN demande une distance positive ou nulle et une unité : {units}",
    "filter.array": "{op} compare un attribut à une liste de valeurs",
    "filter.arity": "{op} prend {n:n} arguments, pas {given:n}",
    "filter.date": "« {value} » n'est pas une date (AAAA-MM-JJ)",
    "filter.timestamp": "« {value} » n'est pas un horodatage RFC 3339 avec fuseau (2024-05-01T12:00:00Z)",
    "filter.crs_param": "filter-crs ne sert qu'à un filtre : envoyez aussi filter",
    "crs.unknown": "{parameter} « {value} » n'est pas un système de coordonnées connu de cette API : donnez un code EPSG (http://www.opengis.net/def/crs/EPSG/0/32629, EPSG:32629) ou CRS84",
    "params.unknown": "Paramètre{s} de requête inconnu{s} {names} ; cette ressource accepte : {known}",
    "params.repeated": "Le paramètre de requête {name} est donné {count:n} fois ; donnez-le une fois",
    "sortby.unknown": "sortby nomme « {name} », qui n'est pas une propriété triable de cette collection ; ses propriétés : {known}",
    "properties.unknown": "properties nomme « {name} », qui n'est pas une propriété de cette collection ; ses propriétés : {known}",
    "fields.list": '{side}_fields doit être une liste de noms d\'attributs ou "*"',
    "fields.empty": "{option} nomme un attribut vide",
    "fields.unknown": "La couche « {layer} » n'a pas d'attribut « {field} » ({option}) ; ses attributs : {known}",
    "fields.none": "aucun",
    "lang.unknown": "Langue « {lang} » inconnue : choisissez parmi {langs}",
    "overlap.negative": "min_overlap_ha ne doit pas être négatif",
    "proximity.k": "k doit valoir au moins 1",
    "proximity.none": "Donnez k, within_m ou les deux",
    "proximity.negative": "within_m ne doit pas être négatif",
    "screen.rules": "Règles de vérification invalides : {detail}",
    "screen.polygon": "Une zone à vérifier doit être un Polygon ou un MultiPolygon, pas {type}",
    "screen.either": "Donnez soit une géométrie, soit un zone_id",
    "screen.unknown": "Aucune entité {id} à vérifier",
    "screen.no_area": "La zone n'a pas de superficie",
    "sensitivity.generalised_area": "Vous voyez l'emplacement de l'entité {id} de la couche « {layer} » généralisé : à votre niveau d'habilitation, elle ne peut pas servir de surface à analyser",
    "permit.final": "Un permis au statut {status} ne peut plus changer : pas de {event}",
    "permit.renewal_expiry": 'Un renouvellement demande la nouvelle échéance : donnez "new_expires"',
    "permit.renewal_later": "La nouvelle échéance d'un renouvellement ({new}) doit suivre l'actuelle ({old})",
    "permit.transfer_holder": 'Une cession demande le nouveau titulaire : donnez "new_holder"',
    "permit.transfer_same": "Le permis est déjà détenu par {holder} : une cession va à un autre titulaire",
    "permit.event_comment": "permis : {event}",
    "monitoring.table": "Pas de table « {table} » : l'une de {tables}",
    "monitoring.figure_by": "Les chiffres des {subject} ne se comptent pas par {by} : par l'un de {allowed}",
    "monitoring.records": "les relevés de suivi (visites, incidents, actions)",
    "permit.not_permit": "L'entité {id} de la couche « {layer} » n'est pas un permis artisanal (la couche est de type {kind})",
    "permit.not_permit_layer": "La couche « {layer} » est de type {kind} ; les alertes demandent une couche de permis artisanaux",
    "permit.zone_pair": "Donnez zone_layer et zone ensemble (le slug de la couche de zones et l'identifiant de la zone)",
    "permit.flag_outside": "Un permis d'exploitation hors de toute zone d'orpaillage classée",
    "permit.flag_expired": "Échu : a expiré le {expires} (vérifié au {as_of})",
    "sanction.fine_amount": 'Une amende demande un "amount" et une "currency"',
    "sanction.amount_only_fine": "Seule une amende a un montant et une devise, pas : {kind}",
    "sanction.no_finding": "Le constat {finding} n'est pas un constat d'une inspection de l'entité {id} de la couche « {layer} » : une sanction répond à un constat enregistré",
    "sanction.unknown": "L'entité {id} de la couche « {layer} » n'a pas de sanction {sanction}",
    "closure.not_closure": "Une sanction {kind} n'est pas une fermeture : seule une fermeture a des étapes et un recensement",
    "closure.out_of_order": "Les étapes d'une fermeture se suivent : la prochaine est {expected}, pas {step}",
    "closure.complete": "aucune (la fermeture est achevée)",
    "exposure.within": "within_m doit être supérieur à 0 et au plus {max:n} mètres, pas {within:n}",
    "exposure.not_kind": "La couche « {layer} » est de type {kind} ; cette analyse demande une couche {needed}",
    "land.region": 'region doit être un (Multi)Polygon GeoJSON ou {{"layer": slug, "id": identifiant}}',
    "land.no_area": "La région n'a pas de superficie : donnez un Polygon ou un MultiPolygon, ou une entité polygonale",
    "land.minerals_need_near": 'minerals choisit les gisements dont les terres doivent être proches : donnez avec eux une couche "near" (sites miniers, gisements)',
    "land.negative": "{field} ne doit pas être négatif",
    "land.not_zone_layer": "La couche « {layer} » est une couche {kind} ; une zone en projet va dans une couche de zones d'orpaillage",
    "zone.needs_decree": 'Classer la zone d\'orpaillage {id} demande la référence de son acte : donnez "decree_ref" dans ses propriétés (par ex. "Arrêté 2026-031/MMG")',
    "zone.needs_consent": "{zone} chevauche {count:n} titres dont les titulaires n'ont pas consenti : {titles}. Enregistrez le consentement de chacun (POST /layers/{layer}/features/{id}/consents) avant de la classer",
    "zone.needs_consent_one": "{zone} chevauche 1 titre dont le titulaire n'a pas consenti : {titles}. Enregistrez son consentement (POST /layers/{layer}/features/{id}/consents) avant de la classer",
    "zone.not_zone": "L'entité {id} de la couche « {layer} » n'est pas une zone d'orpaillage",
    "zone.no_transition": "La zone d'orpaillage {id} n'a pas de transition enregistrée {transition}",
    "consent.not_title": "L'entité {id} n'est pas un titre minier (une concession) que vous pouvez lire",
    "risk.bad_value": "Ligne {row}, colonne {column} : « {value} » n'est pas parmi {allowed} ; rien n'a été importé",
    "risk.iso3": "un code pays ISO 3166-1 alpha-3 (par ex. CIV)",
    "risk.columns": "Le CSV n'a pas de colonne {missing} (ligne 1) ; ses colonnes peuvent être {columns}, en anglais ou en français",
    "risk.empty": "Le CSV ne contient aucune notation : une ligne d'en-tête (iso3, catégorie, niveau…) et une ligne par notation",
    "risk.too_many": "Le CSV contient plus de {max:n} notations",
    "risk.not_text": "Le CSV n'est pas un texte UTF-8 ou Latin-1",
    "risk.no_file": 'Envoyez le CSV dans la partie "file" d\'un formulaire multipart',
    "region.unknown": "Aucune région {region} ; connues : {regions}",
    "zonal.no_file": "La couche raster « {raster} » n'a pas de fichier lisible",
    "zonal.polygons": "Les zones doivent être des polygones",
    "zonal.unreadable": "Le raster de « {raster} » est illisible : {reason}",
    "zonal.band": "La bande {band} n'est pas dans 1..{bands}",
    "health.busy": "toutes les connexions de ce processus à la base de données sont occupées",
    "health.failed": "la base de données n'a pas pu répondre à la requête de contrôle",
    "health.failed_state": "la base de données n'a pas pu répondre à la requête de contrôle (SQLSTATE {state})",
    "mapping.not_json": "La correspondance n'est pas du JSON valide : {reason}",
    "mapping.not_object": "Dans la correspondance, {member} doit être un objet JSON",
    "mapping.not_an_object": 'La correspondance doit être un objet JSON : {{"fields": {{champ du type: champ source}}, "values": {{champ du type: {{valeur source: valeur}}}}}}',
    "mapping.unknown_member": "La correspondance n'a pas de membre « {member} » ; ses membres : {members}",
    "mapping.bad_field": "Les champs de la correspondance donnent à « {field} » la source {source!r} : nommez un champ du fichier",
    "mapping.bad_value": "Les valeurs de la correspondance font de « {value} » (champ « {field} ») autre chose qu'un texte, un nombre, true, false ou null",
    "mapping.unknown_field": "La correspondance nomme « {field} » dans {member}, qui n'est pas un champ du type « {kind} » ; ses champs : {fields}",
    "mapping.value_refused": "La correspondance fait de « {source} » (champ « {field} ») la valeur {value!r}, que le type « {kind} » refuse : {reason}",
    "mapping.no_source": "« {file} » n'a pas de champ « {source} », la source de « {field} » dans la correspondance ; ses champs : {fields}",
    "mapping.no_values_field": "La correspondance donne des valeurs pour « {field} », un champ que « {file} » n'a pas et que la correspondance ne remplit pas ; ses champs : {fields}",
    "mapping.raster": "« {file} » est un GeoTIFF : il n'a pas de champs à faire correspondre ni à prévisualiser",
    "read.parquet_not_geo": "« {file} » est un fichier Parquet sans métadonnées GeoParquet (« geo ») : écrivez-le avec un outil qui écrit du GeoParquet (to_parquet de geopandas, GDAL, DuckDB spatial)",
    "import.each_table": "ou importez chacun comme une couche à part avec le champ `each_table` (--each-table)",
    "read.no_tables": "« {file} » ne contient aucune table avec des géométries",
    # Suivi des sites (issue 18, store/monitoring.py)
    "monitoring.count_over": "{field} ({count}) ne peut dépasser le nombre de travailleurs ({workers})",
    "monitoring.future": "{field} ({day}) est après aujourd'hui ({today}) : un relevé dit ce qui s'est passé",
    "monitoring.unknown": "Aucun enregistrement {what} d'identifiant {id}",
    "monitoring.reviewer": "Vérifier un incident demande un administrateur ou une clé du groupe reviewer",
    "monitoring.already_verified": "L'incident {id} est déjà {verification} : un verdict se donne une fois",
    "monitoring.backwards": "Une action va de recommandée à en cours puis réalisée : elle est {current}, pas de retour à {status}",
    "monitoring.progress_before": "Un avancement au {day} précède la dernière étape de l'action ({last})",
    "monitoring.incident_site": "L'incident {id} n'est pas sur ce site",
    "monitoring.not_image": "La photo n'est pas une image JPEG, PNG ou WebP (d'après son contenu)",
    "monitoring.too_big": "La photo ({size} octets) dépasse la limite de {limit} octets",
    "monitoring.range": "from ({start}) est après to ({end})",
}

_FRENCH_SPACES = (
    (re.compile(r"« "), "«\u00a0"),
    (re.compile(r" »"), "\u00a0»"),
    (re.compile(r" :(?=\s|$)"), "\u00a0:"),
    (re.compile(r" ([;?!])"), "\u202f\\1"),
)


def _typeset_french(text: str) -> str:
    """No-break space before a colon and inside guillemets, narrow one before ; ? !."""
    for pattern, replacement in _FRENCH_SPACES:
        text = pattern.sub(replacement, text)
    return text


CATALOGUE: dict[str, dict[str, str]] = {
    "en": _EN,
    "fr": {code: _typeset_french(text) for code, text in _FR.items()},
}


class _Writer(string.Formatter):
    """Fills a template in one language: numbers (`:n`, `:n2`) and nested messages in it."""

    def __init__(self, lang: Lang) -> None:
        super().__init__()
        self.lang = lang

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, Message):
            value = value.speak(self.lang)
        if format_spec.startswith("n") and isinstance(value, numbers.Real):
            # analysis/messages imports errors.py, which imports this module: import late.
            from geo_service.analysis.messages import number

            return number(float(value), int(format_spec[1:] or 0), self.lang)
        return format(value, format_spec)


def _template(code: str, params: Mapping[str, Any], lang: Lang) -> str:
    table = CATALOGUE.get(lang, _EN)
    if params.get("count") == 1 and f"{code}_one" in table:
        code = f"{code}_one"
    return table[code] if code in table else _EN[code]


class Message(str):
    """A catalogued message: its English text, its `code` and its `params`."""

    code: str
    params: dict[str, Any]

    def __new__(cls, code: str, params: Mapping[str, Any]) -> Message:
        self = super().__new__(cls, _Writer("en").format(_template(code, params, "en"), **params))
        self.code = code
        self.params = dict(params)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return Message, (self.code, self.params)

    def speak(self, lang: Lang) -> str:
        """The message in `lang` (English when that language lacks it)."""
        if lang == "en":
            return str.__str__(self)
        return _Writer(lang).format(_template(self.code, self.params, lang), **self.params)


def msg(code: str, /, **params: Any) -> Message:
    """The message `code` of the catalogue with its parameters; KeyError for an unknown code."""
    return Message(code, params)


def joined(items: Iterable[str]) -> str:
    """`items` one after the other, separated by semicolons as each language writes them
    ("a; b" in English, "a ; b" in French): a message when any of them is one."""
    said = list(items)
    if not said:
        return ""
    return reduce(lambda first, then: msg("list.then", first=first, then=then), said)


def in_language(value: Any, lang: Lang) -> Any:
    """`value` with every message in it (in dicts and lists too) said in `lang`; plain text
    and other values unchanged."""
    if isinstance(value, Message):
        return value.speak(lang)
    if isinstance(value, dict):
        return {key: in_language(item, lang) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [in_language(item, lang) for item in value]
    return value


_PACKED = "__message__"


def pack(value: Any) -> Any:
    """`value` ready for JSON with its messages as {"__message__": code, "params": ...}, to be
    stored (a failed job's error) and said later in the reader's language (`unpack`)."""
    if isinstance(value, Message):
        return {_PACKED: value.code, "params": pack(value.params)}
    if isinstance(value, dict):
        return {key: pack(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [pack(item) for item in value]
    return value


def unpack(value: Any) -> Any:
    """What `pack` stored, with its messages made again (a code no longer known: its English
    text cannot be made, and the code is shown)."""
    if isinstance(value, dict):
        if set(value) == {_PACKED, "params"}:
            params = unpack(value["params"])
            try:
                return Message(value[_PACKED], params)
            except KeyError:
                return str(value[_PACKED])
        return {key: unpack(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unpack(item) for item in value]
    return value


LANGUAGES = tuple(CATALOGUE)  # the languages we speak


def _spoken(tag: str | None) -> Lang | None:
    """`tag` when it is a language we speak."""
    return cast("Lang", tag) if tag in CATALOGUE else None


def pick_language(lang: str | None, accept_language: str | None) -> Lang:
    """`lang` when we speak it, else the first language of Accept-Language we speak (by their
    weights), else English.

    >>> pick_language(None, "fr-FR,fr;q=0.9,en;q=0.8")
    'fr'
    """
    if chosen := _spoken(lang):
        return chosen
    weighted: list[tuple[float, str]] = []
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        weighted.append((quality, tag.split("-")[0].lower()))
    for _, code in sorted(weighted, key=lambda w: -w[0]):
        if chosen := _spoken(code):
            return chosen
    return "en"


# The language of the request being answered (set by the body gate, api/guard.py), for what is
# said outside an error handler, such as a failed job's error in GET /jobs/{id}.
_LANGUAGE: ContextVar[Lang] = ContextVar("language", default="en")


def current_language() -> Lang:
    return _LANGUAGE.get()


@contextmanager
def speaking(lang: Lang) -> Iterator[None]:
    """Say messages in `lang` within this block (this task and the threads it starts)."""
    token = _LANGUAGE.set(lang)
    try:
        yield
    finally:
        _LANGUAGE.reset(token)


def known(text: str, table: Mapping[str, Message]) -> str:
    """What a library said (orjson, a codec, GEOS), as a message when `table` knows it."""
    return table.get(text, text)


# pydantic error types whose length limit is the `count` of the message (singular for 1).
_COUNTED = {
    "string_too_short": "min_length",
    "string_too_long": "max_length",
    "too_short": "min_length",
    "too_long": "max_length",
}


def _choices(expected: str) -> str:
    """pydantic's "'a', 'b' or 'c'" with its "or" said in each language."""
    items, sep, last = expected.rpartition(" or ")
    return msg("list.or", items=items, last=last) if sep else expected


def pydantic_message(error: Mapping[str, Any]) -> str:
    """The message of one pydantic error (`type`, `ctx`, `msg`): catalogued by its type when we
    know it (our API's parameters and bodies make these), else pydantic's English as it is."""
    code = f"validation.{error.get('type')}"
    if code not in _EN:
        return str(error.get("msg", ""))
    ctx = dict(error.get("ctx") or {})
    if error["type"] in _COUNTED:
        ctx["count"] = ctx.get(_COUNTED[error["type"]])
    if isinstance(ctx.get("expected"), str):
        ctx["expected"] = _choices(ctx["expected"])
    names = {name for _, name, _, _ in string.Formatter().parse(_EN[code]) if name}
    return Message(code, {name: ctx.get(name) for name in names | {"count"} if name in ctx})
