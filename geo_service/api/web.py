"""The web map: GET /map renders the app page; /static serves its scripts, styles and messages."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.staticfiles import StaticFiles

from geo_service import __version__
from geo_service.domain.access import VISIBILITIES
from geo_service.domain.kinds import ZONE_TRANSITIONS
from geo_service.problems import LANGUAGES, pick_language

WEB = Path(__file__).resolve().parents[2] / "web"

# Vendored libraries change only with a new version of the package: cache them for a year.
# The app's own files are revalidated by ETag on each load (a 304 costs a few hundred bytes).
VENDOR_CACHE = "public, max-age=31536000, immutable"
APP_CACHE = "no-cache"

router = APIRouter()
templates = Jinja2Templates(directory=WEB / "templates")
static_files = StaticFiles(directory=WEB / "static")


@lru_cache
def messages(lang: str) -> dict[str, Any]:
    """The interface messages of `lang` (web/static/i18n), inlined in the page: one request less."""
    return json.loads((WEB / "static" / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))


@router.get("/map", response_class=HTMLResponse, summary="The web map (planners and researchers)")
def map_page(
    request: Request,
    lang: Annotated[str | None, Query(description="Interface language: en or fr.")] = None,
) -> Response:
    settings = request.app.state.settings
    chosen = pick_language(lang, request.headers.get("accept-language"))
    config = {
        "lang": chosen,
        "messages": messages(chosen),
        "languages": list(LANGUAGES),
        "basemap_url": settings.api.basemap_url,
        "fallback_basemap_url": "/basemap/{z}/{x}/{y}.png",
        "basemaps": [basemap.model_dump() for basemap in settings.api.basemaps],
        "zone_transitions": {k: sorted(v) for k, v in ZONE_TRANSITIONS.items()},
        "max_upload_mb": settings.api.max_upload_mb,
        "visibilities": list(reversed(VISIBILITIES)),  # narrowest first: the default leads
        "version": __version__,
    }
    return templates.TemplateResponse(request, "map.html", {"config": config, "lang": chosen})


@router.get("/static/{path:path}", include_in_schema=False)
async def static(path: str, request: Request) -> Response:
    """A file of web/static (404 outside it), with cache headers by kind of file."""
    response = await static_files.get_response(path, request.scope)
    if response.status_code in (200, 304):
        cache = VENDOR_CACHE if path.startswith("vendor/") else APP_CACHE
        response.headers["Cache-Control"] = cache
    return response
