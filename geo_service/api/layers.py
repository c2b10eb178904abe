"""Layers: create, list, describe, rename, delete; import files into them, export them; search
features by name or code across layers."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from geo_service import jobs
from geo_service.api.deps import Admin, Caller, DbEngine, DbSession, Editor
from geo_service.api.features import BBox, BBoxCrs, Filter, selection_for
from geo_service.api.limits import Exports, Imports
from geo_service.api.params import filters_on_properties
from geo_service.api.responses import JSONResponse
from geo_service.db.models import Layer
from geo_service.domain.access import Principal, Role, check_visibility
from geo_service.domain.kinds import Kind
from geo_service.domain.sensitivity import Level
from geo_service.io import raster
from geo_service.io.formats import FORMATS, export_format
from geo_service.io.upload import Upload, receive
from geo_service.io.write import export
from geo_service.problems import current_language, in_language, msg
from geo_service.store import features as select
from geo_service.store import layers as store
from geo_service.store.sensitivity import SENSITIVITY, audit_read, described, mask_for

if TYPE_CHECKING:  # the importer (and geopandas) load with the first import, not with the app
    from geo_service.io.load import ImportOptions

router = APIRouter(tags=["layers"])


Visibility = Literal["public", "internal", "private"]
_VISIBILITY = (
    "public: everyone; internal: any key; private: the owner, the keys in `shared_with`, the "
    "groups in `shared_groups`, and admins."
)
Names = Annotated[list[Annotated[str, Field(max_length=63)]], Field(max_length=200)]


class LayerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: str = Field(max_length=63, description="1-63 lower-case letters, digits, '-' or '_'.")
    title: str | None = Field(default=None, max_length=500)
    kind: Kind = Kind.reference
    theme: str | None = Field(default=None, description="For reference layers: what they hold.")
    visibility: Visibility = Field(default="private", description=_VISIBILITY)
    shared_with: Names | None = Field(default=None, description="Key names that may read it.")
    shared_groups: Names | None = Field(default=None, description="Groups that may read it.")
    description: str | None = Field(default=None, max_length=10000)
    attribution: str | None = Field(default=None, max_length=2000)


Colour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$", examples=["#1f77b4"])]


class LayerStyle(BaseModel):
    model_config = ConfigDict(extra="forbid")
    colour: Colour | None = Field(
        default=None, description="The layer's colour (default: the palette's, by layer id)."
    )
    by: str | None = Field(
        default=None, max_length=200, description="The attribute whose values colour features."
    )
    categories: Annotated[dict[Annotated[str, Field(max_length=200)], Colour], Field(
        max_length=100
    )] | None = Field(
        default=None,
        description="A colour per value of `by`; left out, one per value found in the layer "
        "(the most frequent first, up to 12; other values take the layer's colour).",
    )  # fmt: skip


class LayerUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: str | None = Field(default=None, description="A new slug renames the layer.")
    title: str | None = Field(default=None, min_length=1, max_length=500)
    title_fr: str | None = Field(
        default=None, max_length=500, description="The title in French (null or '': `title`)."
    )
    title_en: str | None = Field(
        default=None, max_length=500, description="The title in English (null or '': `title`)."
    )
    style: LayerStyle | None = Field(
        default=None, description="How the map draws the layer; {} or null: the defaults."
    )
    sort_order: int | None = Field(
        default=None,
        ge=-(2**31),
        lt=2**31,
        description="Order among the layers of its kind in the layer panel (lower first).",
    )
    theme: str | None = None
    visibility: Visibility | None = Field(default=None, description=_VISIBILITY)
    shared_with: Names | None = None
    shared_groups: Names | None = None
    description: str | None = Field(default=None, max_length=10000)
    attribution: str | None = Field(default=None, max_length=2000)
    sensitivity: Level | None = Field(
        default=None,
        description="Below this clearance a caller sees locations generalised (admin only).",
    )
    attribute_sensitivity: dict[str, Level] | None = Field(
        default=None,
        description="{attribute: level}: below it a caller does not see the "
        "attribute (admin only).",
    )
    generalise: Literal["grid", "admin"] | None = Field(
        default=None, description="How a location is generalised: a grid cell or its admin area."
    )
    generalise_m: int | None = Field(
        default=None, ge=100, le=1_000_000, description="The grid's cell, in metres."
    )


def _manager(who: Caller) -> Principal:
    """An editor or an admin: whether it may manage a given layer is decided with the layer."""
    who.require(Role.editor, msg("access.manage_layer"))
    return who


Manager = Annotated[Principal, Depends(_manager)]


def _seen_mapping(mapping: Any, hidden: tuple[str, ...]) -> Any:
    """The layer's import mapping without the fields a caller may not see: no kind field and
    no source field it maps to (nor their values)."""
    if not hidden or not isinstance(mapping, dict):
        return mapping
    fields = mapping.get("fields")
    fields = fields if isinstance(fields, dict) else {}
    gone = set(hidden) | {k for k, v in fields.items() if v in hidden}
    return {
        part: {k: v for k, v in value.items() if k not in gone}
        if isinstance(value, dict)
        else value
        for part, value in mapping.items()
    }


def _describe(session: Session, layer: Layer, who: Principal) -> dict[str, Any]:
    mask = mask_for(layer, who)
    description = described(store.describe_layer(session, layer), mask)
    description["can_manage"] = store.may_manage(layer, who)
    description["import_mapping"] = _seen_mapping(layer.import_mapping, mask.hidden)
    if who.is_admin:
        description |= {key: getattr(layer, key) for key in SENSITIVITY}
    if layer.storage == "raster" and layer.raster_path and Path(layer.raster_path).exists():
        info = raster.describe(Path(layer.raster_path))
        description["extent"] = info.pop("extent")
        description["raster"] = info
    return description


@router.get("/layers", summary="Every layer the caller may read, with count and extent")
def list_layers(session: DbSession, who: Caller) -> list[dict[str, Any]]:
    return [_describe(session, layer, who) for layer in store.list_layers(session, who)]


@router.post("/layers", status_code=201, summary="Create an empty layer (admin)")
def create_layer(body: LayerCreate, session: DbSession, who: Admin) -> JSONResponse:
    layer = store.create_layer(session, who=who, **body.model_dump())
    return JSONResponse(_describe(session, layer, who), status_code=201)


@router.get("/layers/{slug}", summary="A layer: count, extent, geometry types, attributes")
def get_layer(slug: str, session: DbSession, who: Caller) -> dict[str, Any]:
    return _describe(session, store.get_layer(session, slug, who), who)


@router.patch(
    "/layers/{slug}",
    summary="Rename, retitle, restyle, reorder or share a layer (an admin, or its owner)",
    description="The layer's owner (the editor who imported or created it) or an admin may "
    "change it; any other key gets 403, whether the layer exists or not. Members left out "
    "are unchanged; `style` is replaced as a whole.",
)
def update_layer(slug: str, body: LayerUpdate, session: DbSession, who: Manager) -> dict[str, Any]:
    layer = store.update_layer(session, slug, who, **body.model_dump(exclude_unset=True))
    return _describe(session, layer, who)


@router.delete(
    "/layers/{slug}",
    status_code=204,
    summary="Delete a layer and its features (an admin, or its owner)",
)
def delete_layer(slug: str, session: DbSession, who: Manager) -> Response:
    raster_path = store.managed_layer(session, slug, who).raster_path
    store.delete_layer(session, slug, who)
    session.commit()
    if raster_path:
        Path(raster_path).unlink(missing_ok=True)
    return Response(status_code=204)


# -- import -------------------------------------------------------------------------------------

_MAPPING = (
    'JSON: {"fields": {kind field: source field}, "values": {kind field: {source value: '
    'value}}}, e.g. {"fields": {"title_type": "Licence_"}, "values": {"title_type": {"PE": '
    '"exploitation"}}}. Kept with the layer: a later import without one reuses it; {} forgets '
    "it. Source fields not mapped are kept as they came."
)
_IMPORT_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description":
                                 "GeoJSON, GeoPackage, zipped Shapefile (at any depth in the "
                                 "zip), CSV, KML, FlatGeobuf, GeoParquet or GeoTIFF"},
                        "kind": {"type": "string", "enum": [k.value for k in Kind],
                                 "description": "Kind of a new layer (default reference)."},
                        "name_field": {"type": "string", "description":
                                       "Field naming features (default name/nom/NAME/NOM/code)."},
                        "strict": {"type": "boolean", "description":
                                   "Reject invalid geometries instead of repairing them."},
                        "upsert_key": {"type": "string", "description":
                                       "Field identifying a feature: update instead of adding."},
                        "table": {"type": "string", "description":
                                  "GeoPackage table, or Shapefile in the zip by name or path."},
                        "each_table": {"type": "boolean", "description":
                                       "Every Shapefile of the zip (every GeoPackage table) "
                                       "into a layer of its own: `{slug}-{name}`, or the "
                                       "table's name alone when it starts with the slug."},
                        "mapping": {"type": "string", "description": _MAPPING},
                        "encoding": {"type": "string", "description":
                                     "Character encoding of the file's text (e.g. latin-1, "
                                     "cp1252): overrides a .cpg (a .dbf without one is read "
                                     "as UTF-8, else CP1252, else ISO-8859-1, as its bytes "
                                     "fit); needed for GeoJSON, CSV or KML that are not UTF-8."},
                        "crs": {"type": "string", "description":
                                "Source CRS of a file that names none (CSV), e.g. EPSG:32629."},
                        "visibility": {"type": "string", "enum": ["public", "internal", "private"],
                                       "description": "Of a new layer (default private: the "
                                       "importer and admins)."},
                    },
                }
            }
        },
    }
}  # fmt: skip


def _options(fields: dict[str, str], who: Principal) -> ImportOptions:
    from geo_service.io.load import ImportOptions
    from geo_service.io.mapping import parse_mapping

    def text(name: str) -> str | None:
        return fields.get(name) or fields.get(name.replace("_", "-")) or None

    def flag(name: str) -> bool:
        return (text(name) or "").lower() in ("1", "true", "yes", "on")

    return ImportOptions(
        kind=text("kind"),
        name_field=text("name_field"),
        strict=flag("strict"),
        upsert_key=text("upsert_key"),
        table=text("table") or text("layer"),
        crs=text("crs"),
        who=who,
        visibility=check_visibility(text("visibility") or "private"),
        encoding=text("encoding"),
        mapping=parse_mapping(text("mapping")),
        each_table=flag("each_table"),
    )


async def _receive(request: Request, folder: Path) -> Upload:
    """The multipart upload of `request`, its file written into `folder`."""
    return await receive(
        request.headers.get("content-type"),
        request.headers.get("content-length"),
        request.stream(),
        folder,
        request.app.state.settings.api.max_upload_mb * 2**20,
    )


def _import_job(engine: Engine, slug: str, upload: Upload, options: ImportOptions, home: Path):
    from geo_service.io.load import import_file

    def work(report: jobs.Report) -> dict[str, Any]:
        try:
            with Session(engine, expire_on_commit=False) as session:
                summary = import_file(
                    session, slug, upload.path, upload.filename, options, report, home
                )
                session.commit()
            return summary
        finally:
            shutil.rmtree(upload.path.parent, ignore_errors=True)

    return work


@router.post(
    "/layers/{slug}/import",
    dependencies=[Imports],
    summary="Import a file into a layer (created when missing)",
    openapi_extra=_IMPORT_FORM,
    description=(
        "Reprojects to EPSG:4326, repairs invalid geometries (or rejects them with `strict`), "
        "and inserts every feature in one transaction: on any error nothing is written. "
        "Answers {layer, imported, repaired:[{index, reason}], rejected:[{index, reason}], "
        "mapping} ({imported, layers:[...]} with `each_table`). With `?async=true` the import "
        "runs as a job: 202 {job, href} to poll. POST the same form to `import/preview` first "
        "to see what a `mapping` makes of the file."
    ),
)
async def import_layer(
    request: Request,
    slug: str,
    session: DbSession,
    engine: DbEngine,
    who: Editor,
    run_async: Annotated[bool, Query(alias="async", description="Run as a job.")] = False,
) -> JSONResponse:
    folder = Path(tempfile.mkdtemp(prefix="import-"))
    upload = None
    try:
        upload = await _receive(request, folder)
        options = _options(upload.fields, who)
        home = request.app.state.settings.db.home_path
        if run_async:
            job = jobs.submit(
                engine, "import", _import_job(engine, slug, upload, options, home), owner=who
            )
            return JSONResponse({"job": job, "href": f"/jobs/{job}"}, status_code=202)
        from geo_service.io.load import import_file

        summary = await run_in_threadpool(
            import_file, session, slug, upload.path, upload.filename, options, home=home
        )
        return JSONResponse(summary)
    finally:
        if not (run_async and upload is not None):
            shutil.rmtree(folder, ignore_errors=True)


@router.post(
    "/layers/{slug}/import/preview",
    dependencies=[Imports],
    summary="What an import would make of a file's fields and values, without importing",
    openapi_extra=_IMPORT_FORM,
    description=(
        "Takes the import's form (the `mapping` given, else the one kept with the layer) and "
        "writes nothing. Answers {layer, exists, format, kind, features, source_fields, mapping, "
        "mapping_from, fields:[{field, source, by, allowed, distinct, empty, mapped_values:"
        "[{value, to, count}], unmapped_values:[{value, count}], refused_values:[{value, count, "
        "message}], refused_count}], unmapped_fields, kept_fields, refused_features}."
    ),
)
async def preview_import(
    request: Request, slug: str, session: DbSession, who: Editor
) -> JSONResponse:
    folder = Path(tempfile.mkdtemp(prefix="preview-"))
    try:
        upload = await _receive(request, folder)
        options = _options(upload.fields, who)
        from geo_service.io.load import preview_file

        result = await run_in_threadpool(
            preview_file, session, slug, upload.path, upload.filename, options
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return JSONResponse(in_language(result, current_language()))


# -- export and search --------------------------------------------------------------------------


@router.get(
    "/layers/{slug}/export",
    dependencies=[Exports],
    summary="Download a layer: GeoJSON, GeoPackage, zipped Shapefile, CSV (WKT), KML, FlatGeobuf or GeoParquet",
    description="All attributes are kept. The features are selected as OGC API Features "
    "items select them: `bbox` (in `bbox-crs`), a CQL2 `filter`, `property=value` for any "
    "queryable, `sortby`.",
    response_class=FileResponse,
)
@filters_on_properties
def export_layer(
    request: Request,
    slug: str,
    session: DbSession,
    who: Caller,
    bbox: BBox,
    in_crs: BBoxCrs,
    where: Filter,
    format: Annotated[str, Query(description=f"One of {', '.join(FORMATS)}.")] = "geojson",
    sortby: Annotated[str | None, Query(description="As on items.")] = None,
) -> FileResponse:
    fmt = export_format(format)
    layer = store.get_layer(session, slug, who)
    selection, _ = selection_for(
        request, session, layer, bbox, in_crs, where, sortby=sortby, who=who
    )
    folder = Path(tempfile.mkdtemp(prefix="export-"))
    read = [0]

    def counted(rows: Iterator[select.Row]) -> Iterator[select.Row]:
        for row in rows:
            read[0] += 1
            yield row

    try:
        path = export(counted(select.rows(session, selection)), fmt, layer.slug, folder)
        audit_read(session, who, layer, read[0], "export")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        path,
        media_type=fmt.media_type,
        filename=path.name,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


@router.get("/search", summary="Find features by name or code (case and accents ignored)")
def search(
    session: DbSession,
    who: Caller,
    q: Annotated[str, Query(min_length=1, max_length=200, description="Text in the name or code.")],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    return {"results": select.search(session, q, who, limit)}
