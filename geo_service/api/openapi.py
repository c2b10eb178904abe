"""The API definition, as OpenAPI 3.0.3 (what OGC API Features' oas30 class and its clients
read), at `/api` and `/openapi.json`.

FastAPI writes OpenAPI 3.1 (JSON Schema 2020-12); `downgrade` rewrites the few 3.1 forms it
uses (null in anyOf or in a type list, examples lists, const, numeric exclusive bounds,
content media types) into their 3.0 spelling, so that the document says one version and is it.
Each collection the caller may read gets a path of its own, `/collections/{id}/items`, whose
parameters are the generic ones plus one per queryable: that is where GDAL (and so QGIS) and
other OGC clients look for the filters a collection takes.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse

from geo_service.api.deps import Caller, DbSession
from geo_service.api.responses import JSONResponse
from geo_service.store import cql2
from geo_service.store import layers as store
from geo_service.store.queryables import queryables

router = APIRouter(tags=["OGC API Features"])
VERSION = "3.0.3"
MEDIA_TYPE = "application/vnd.oai.openapi+json;version=3.0"
ITEMS = "/collections/{slug}/items"
# Parameters the generic items path has that a collection's own path names by value.
_PATH_ONLY = {"slug"}
_NAME_MAPS = {"properties", "schemas", "paths", "responses", "parameters", "securitySchemes"}
# JSON Schema keywords OpenAPI 3.0's schema object does not have (they only narrow what is
# valid, so a client that never sees them accepts a little more than the server does).
_JSON_SCHEMA_2020 = ("propertyNames", "patternProperties", "prefixItems", "contains",
                     "unevaluatedProperties", "dependentRequired", "$schema")  # fmt: skip


def downgrade(node: Any, names: bool = False) -> Any:
    """A copy of an OpenAPI 3.1 document (or part) written as OpenAPI 3.0; `names`: `node`
    maps names to schemas (a schema's properties, the components), it is not a schema."""
    if isinstance(node, list):
        return [downgrade(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: downgrade(value, key in _NAME_MAPS) for key, value in node.items()}
    if names:
        return out
    options = out.get("anyOf")
    if isinstance(options, list) and any(o == {"type": "null"} for o in options):
        rest = [o for o in options if o != {"type": "null"}]
        del out["anyOf"]
        if len(rest) == 1 and "$ref" not in rest[0]:
            out = {**rest[0], **out}
        elif len(rest) == 1:
            out["allOf"] = rest
        else:
            out["anyOf"] = rest
        out["nullable"] = True
    if isinstance(out.get("type"), list):
        types = [t for t in out["type"] if t != "null"]
        if len(types) < len(out["type"]):
            out["nullable"] = True
        out["type"] = types[0] if len(types) == 1 else "string"
    if isinstance(out.get("examples"), list):
        examples = out.pop("examples")
        if examples:
            out["example"] = examples[0]
    if "const" in out:
        out["enum"] = [out.pop("const")]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), int | float) and not isinstance(out[bound], bool):
            out[plain] = out.pop(bound)
            out[bound] = True
    if "contentMediaType" in out:
        out.pop("contentMediaType")
        out.setdefault("format", "binary")
    for unknown_to_30 in _JSON_SCHEMA_2020:
        out.pop(unknown_to_30, None)
    return out


def base_document(app: FastAPI) -> dict[str, Any]:
    """The app's routes as OpenAPI 3.0, made once per app."""
    cached = getattr(app.state, "openapi_30", None)
    if cached is None:
        generated = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        generated.pop("jsonSchemaDialect", None)
        generated.pop("webhooks", None)
        cached = downgrade(generated)
        cached["openapi"] = VERSION
        app.state.openapi_30 = cached
    return cached


def _queryable_parameter(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    described = {k: v for k, v in schema.items() if not k.startswith("x-") and k != "title"}
    if described.get("type") == "array":
        described = {"type": "string", "description": "Features whose list holds this value."}
    return {
        "name": name,
        "in": "query",
        "required": False,
        "style": "form",
        "explode": False,
        "description": f"Features whose {name} equals this value.",
        "schema": downgrade(described) or {"type": "string"},
    }


def document(app: FastAPI, session: DbSession, who: Caller) -> dict[str, Any]:
    """The API definition with a path per collection `who` may read."""
    doc = copy.deepcopy(base_document(app))
    generic = doc["paths"].get(ITEMS, {}).get("get")
    if generic is None:
        return doc
    for layer in store.list_layers(session, who):
        if layer.storage != "vector":
            continue
        operation = copy.deepcopy(generic)
        operation["operationId"] = f"{generic.get('operationId', 'items')}_{layer.slug}"
        operation["summary"] = f"Features of {layer.title}"
        parameters = [p for p in operation.get("parameters", []) if p.get("name") not in _PATH_ONLY]
        for parameter in parameters:
            if parameter.get("name") == "filter-lang":
                parameter["schema"] = {"type": "string", "enum": list(cql2.LANGS)}
        given = {p.get("name") for p in parameters}
        for name, schema in queryables(session, layer.id, layer.version, layer.kind).items():
            if name not in given and name not in cql2.GEOMETRY_NAMES:
                parameters.append(_queryable_parameter(name, schema))
        operation["parameters"] = parameters
        doc["paths"][f"/collections/{layer.slug}/items"] = {"get": operation}
    return doc


@router.get("/api", summary="The API definition (OpenAPI 3.0)", include_in_schema=False)
def api(request: Request, session: DbSession, who: Caller) -> JSONResponse:
    return JSONResponse(document(request.app, session, who), media_type=MEDIA_TYPE)


@router.get("/openapi.json", include_in_schema=False)
def openapi_json(request: Request, session: DbSession, who: Caller) -> JSONResponse:
    return JSONResponse(document(request.app, session, who), media_type=MEDIA_TYPE)


@router.get("/docs", include_in_schema=False)
def docs(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{request.app.title} API")
