"""The web map: GET /map renders the app page; /static serves its scripts, styles and messages."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.staticfiles import StaticFiles

from geo_service import __version__
from geo_service.domain import registry
from geo_service.domain.access import VISIBILITIES
from geo_service.domain.kinds import ZONE_TRANSITIONS
from geo_service.problems import LANGUAGES, pick_language

WEB = Path(__file__).resolve().parents[2] / "web"

# Vendored libraries change only with a new version of the package: cache them for a year.
# The app's own files are kept as long when their URL carries the version of the files
# (`?v=`, see asset_version); without it they are revalidated by ETag on each load.
VENDOR_CACHE = "public, max-age=31536000, immutable"
VERSIONED_CACHE = VENDOR_CACHE
APP_CACHE = "no-cache"
# What the pages load besides the vendored libraries: the app's files and the embed's.
ASSET_FOLDERS = (WEB / "static" / "app", WEB / "static" / "i18n", WEB / "embed")

router = APIRouter()
templates = Jinja2Templates(directory=WEB / "templates")
static_files = StaticFiles(directory=WEB / "static")


def asset_version() -> str:
    """A digest of the names, sizes and times of the pages' own files, read at each page: the
    `v` of their URLs. A browser keeps a file for a year and asks again once any file changes,
    so a page never mixes modules of two versions and a load costs no revalidation round trip
    per module (each one a wait on a slow line)."""
    digest = hashlib.sha256()
    for folder in ASSET_FOLDERS:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                stat = path.stat()
                digest.update(f"{path.relative_to(WEB)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:12]


def asset_urls(version: str) -> dict[str, Any]:
    """What the page templates write: `asset(url)` gives a file's versioned URL, `import_map`
    maps every ES module of the app to its versioned URL (the modules' own `import` lines stay
    plain, and the browser follows the map)."""
    modules = {
        f"/static/app/{path.name}": f"/static/app/{path.name}?v={version}"
        for path in sorted((WEB / "static" / "app").glob("*.js"))
    }
    return {
        "asset": lambda url: f"{url}?v={version}",
        "import_map": json.dumps({"imports": modules}, separators=(",", ":")),
        "registry": registry_json(),
    }


@lru_cache
def registry_json() -> str:
    """The kind registry (domain/registry.py) as the pages inline it for styles.js: one
    request less than /kinds, the same JSON; "</" escaped so that it cannot close its script."""
    return json.dumps(registry.served(), separators=(",", ":")).replace("</", "<\\/")


@router.get("/kinds", summary="The kinds of feature: fields, list fields, geometry types, colours")
def kinds() -> dict[str, Any]:
    return registry.served()


# `?v=` on a page asset's URL: the app's version, so that a new release is fetched anew.
AssetVersion = Annotated[
    str | None, Query(alias="v", max_length=64, description="The app's version (caching).")
]


def cache_control(request: Request, unversioned: str = APP_CACHE) -> str:
    """The Cache-Control of a page asset: a year when the URL carries a version."""
    return VERSIONED_CACHE if request.query_params.get("v") else unversioned


@lru_cache
def messages(lang: str) -> dict[str, Any]:
    """The interface messages of `lang` (web/static/i18n), inlined in the page: one request less."""
    return json.loads((WEB / "static" / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))


@router.get("/map", response_class=HTMLResponse, summary="The web map (planners and researchers)")
def map_page(
    request: Request,
    lang: Annotated[str | None, Query(description="Interface language: en or fr.")] = None,
    layers: Annotated[
        str | None,
        Query(
            description="Layers shown at start, by slug, comma-separated (the others are listed,"
            " unticked): a link to a view of a few layers. Default: every layer."
        ),
    ] = None,
) -> Response:
    settings = request.app.state.settings
    chosen = pick_language(lang, request.headers.get("accept-language"))
    config = {
        "lang": chosen,
        "layers": [s for s in layers.split(",") if s] if layers is not None else None,
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
    context = {"config": config, "lang": chosen, **asset_urls(asset_version())}
    return templates.TemplateResponse(request, "map.html", context)


def _light_page(request: Request, lang: str | None, template: str) -> Response:
    """A page of the app besides the map (field form, dashboard): its language's messages
    inlined, its files versioned; no map configuration."""
    chosen = pick_language(lang, request.headers.get("accept-language"))
    config = {"lang": chosen, "messages": messages(chosen), "version": __version__}
    context = {"config": config, "lang": chosen, **asset_urls(asset_version())}
    return templates.TemplateResponse(request, template, context)


@router.get("/field", response_class=HTMLResponse, summary="The field form (monitors, on a phone)")
def field_page(
    request: Request,
    lang: Annotated[str | None, Query(description="Interface language: en or fr.")] = None,
) -> Response:
    """Visits and incidents recorded on a phone, queued while offline (web/static/app/field.js)."""
    return _light_page(request, lang, "field.html")


# The field form's service worker keeps its page and files in a cache of this name and version.
FIELD_CACHE = "geo-service.field-"


class PageFiles(HTMLParser):
    """The URLs of web/static files a page loads: scripts, styles, icon, import map modules."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.in_import_map = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        url = found.get({"script": "src", "link": "href"}.get(tag, ""))
        if url and url.startswith("/static/") and url not in self.urls:
            self.urls.append(url)
        self.in_import_map = tag == "script" and found.get("type") == "importmap"

    def handle_data(self, data: str) -> None:
        if self.in_import_map:
            self.urls.extend(u for u in json.loads(data)["imports"].values() if u not in self.urls)

    def handle_endtag(self, tag: str) -> None:
        self.in_import_map = False


@router.get("/field-sw.js", include_in_schema=False)
def field_worker(request: Request) -> Response:
    """The field form's service worker (web/templates/field-sw.js): it keeps /field in each
    language and the files the page loads, read from the page as it is rendered now, in a cache
    named after their version, so that the form opens offline. Revalidated at each load: a new
    version of the files is a new worker."""
    version = asset_version()
    files = PageFiles()
    files.feed(bytes(field_page(request, lang=LANGUAGES[0]).body).decode())
    context = {
        "cache": f"{FIELD_CACHE}{version}",
        "prefix": FIELD_CACHE,
        "pages": ["/field", *(f"/field?lang={lang}" for lang in LANGUAGES)],
        "files": files.urls,
    }
    headers = {"Cache-Control": "no-cache"}
    return templates.TemplateResponse(
        request, "field-sw.js", context, headers=headers, media_type="text/javascript"
    )


@router.get("/dashboard", response_class=HTMLResponse, summary="The monitoring dashboard")
def dashboard_page(
    request: Request,
    lang: Annotated[str | None, Query(description="Interface language: en or fr.")] = None,
) -> Response:
    """Monitoring figures as charts and tables, with their CSV (web/static/app/dashboard.js)."""
    return _light_page(request, lang, "dashboard.html")


@router.get("/static/{path:path}", include_in_schema=False)
async def static(path: str, request: Request, v: AssetVersion = None) -> Response:
    """A file of web/static (404 outside it), with cache headers by kind of file."""
    response = await static_files.get_response(path, request.scope)
    if response.status_code in (200, 304):
        cache = VENDOR_CACHE if path.startswith("vendor/") else cache_control(request)
        response.headers["Cache-Control"] = cache
    return response
