"""Settings grouped by concern; every knob is an environment variable GEO_SERVICE_*."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_ENV = SettingsConfigDict(env_prefix="GEO_SERVICE_", env_file=".env", extra="ignore")


class DatabaseSettings(BaseSettings):
    """Where the data lives: a given server, or the embedded cluster under `home`."""

    model_config = _ENV

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of an existing PostGIS database. Unset: the embedded cluster.",
    )
    home: Path = Field(
        default=Path("var"), description="Data folder (embedded cluster, uploads, tile cache)."
    )
    pg_bindir: Path | None = Field(
        default=None, description="Folder holding initdb/pg_ctl; found automatically when unset."
    )
    pg_user: str = Field(
        default="postgres",
        description="Unprivileged OS user that runs the embedded cluster when started as root.",
    )
    pool_size: int = Field(default=8, description="Connections kept open per process.")

    @property
    def home_path(self) -> Path:
        return self.home.expanduser().resolve()


class OnlineBasemap(BaseModel):
    """An online XYZ basemap offered in the web map's switcher, beside the offline one.

    >>> OnlineBasemap(name={"en": "Satellite", "fr": "Satellite"},
    ...               url="https://tiles.example.org/{z}/{x}/{y}.jpg").max_zoom
    19
    """

    name: dict[str, str] = Field(description='The name shown, by language: {"en": ..., "fr": ...}.')
    url: str = Field(description="XYZ template with {z}, {x} and {y} (and {s} for subdomains).")
    attribution: str = Field(default="", description="Credit shown on the map (HTML allowed).")
    max_zoom: int = Field(default=19, ge=0, le=24, description="Deepest zoom the server has.")

    @field_validator("name")
    @classmethod
    def _both_languages(cls, name: dict[str, str]) -> dict[str, str]:
        missing = [lang for lang in ("en", "fr") if not name.get(lang, "").strip()]
        if missing:
            raise ValueError(f"a basemap needs a name in {' and '.join(missing)}")
        return name

    @field_validator("url")
    @classmethod
    def _xyz(cls, url: str) -> str:
        if not all(part in url for part in ("{z}", "{x}", "{y}")):
            raise ValueError("a basemap URL is an XYZ template with {z}, {x} and {y}")
        return url


class APISettings(BaseSettings):
    """How the HTTP service listens and what it accepts."""

    model_config = _ENV

    host: str = "127.0.0.1"
    port: int = 8000
    cors_origins: list[str] = Field(
        default_factory=lambda: ["*"], description="Origins allowed by CORS (JSON list)."
    )
    max_upload_mb: int = Field(default=200, description="Largest accepted upload, in MiB.")
    max_json_mb: float = Field(
        default=16, gt=0, description="Largest JSON request body (a feature, an analysis), MiB."
    )
    max_json_depth: int = Field(
        default=64, ge=8, description="Deepest nesting of a JSON request body."
    )
    public_url: str | None = Field(
        default=None, description="Base URL used in links when behind a proxy."
    )
    basemap_url: str = Field(
        default="/basemap/{z}/{x}/{y}.png",
        description="XYZ template of the web map's default basemap; the default is served by us.",
    )
    basemaps: list[OnlineBasemap] = Field(
        default_factory=list,
        description=(
            "Online basemaps offered in the web map's switcher besides the offline one (JSON "
            "list of {name: {en, fr}, url, attribution, max_zoom}). None by default: no network."
        ),
    )


class ScreeningSettings(BaseSettings):
    """Default rules of zone screening (a request may override any of them)."""

    model_config = SettingsConfigDict(
        env_prefix="GEO_SERVICE_SCREEN_", env_file=".env", extra="ignore"
    )

    max_area_ha: float = Field(default=500.0, description="Largest acceptable zone, in hectares.")
    protected_area_distance_m: float = Field(
        default=1000.0, description="Closest a zone may come to a protected area, in metres."
    )
    river_distance_m: float = Field(
        default=100.0, description="Closest a zone may come to a river or water body, in metres."
    )
    settlement_distance_m: float = Field(
        default=500.0, description="Closest a zone may come to a settlement, in metres."
    )
    hazard_distance_m: float = Field(
        default=2000.0,
        description="Tailings facilities and abandoned mines within this many metres are listed.",
    )


class TileSettings(BaseSettings):
    """Vector, raster and basemap tiles: who may fetch them, how long they are cached."""

    model_config = _ENV

    public_layers: list[str] | None = Field(
        default=None,
        description=(
            "Slugs served to anonymous callers (JSON list). Unset: every layer whose visibility "
            "is public. Private layers are never served anonymously."
        ),
    )
    tile_cache_mb: int = Field(default=256, description="In-memory tile cache size, in MiB.")
    tile_disk_cache: bool = Field(
        default=True, description="Also keep tiles on disk under <home>/tiles (shared by workers)."
    )
    tile_max_age: int = Field(
        default=60, description="Cache-Control max-age of a vector or raster tile, in seconds."
    )
    tile_maxzoom: int = Field(default=22, ge=0, le=24, description="Deepest zoom served.")
    basemap_max_age: int = Field(
        default=86400, description="Cache-Control max-age of a basemap tile, in seconds."
    )


class RateLimitSettings(BaseSettings):
    """Requests per minute allowed to each key (or, without a key, each client address) on the
    expensive endpoints; 0 turns a limit off. A burst of `*_burst` may come at once."""

    model_config = SettingsConfigDict(
        env_prefix="GEO_SERVICE_RATE_", env_file=".env", extra="ignore"
    )

    analyses_per_minute: float = Field(
        default=60, ge=0, description="Overlap, proximity and zonal statistics."
    )
    analyses_burst: int = Field(default=20, ge=1)
    screenings_per_minute: float = Field(
        default=600, ge=0, description="Zone screening (the map screens as a zone is drawn)."
    )
    screenings_burst: int = Field(default=100, ge=1)
    imports_per_minute: float = Field(default=10, ge=0, description="POST /layers/{slug}/import.")
    imports_burst: int = Field(default=5, ge=1)
    exports_per_minute: float = Field(default=30, ge=0, description="GET /layers/{slug}/export.")
    exports_burst: int = Field(default=10, ge=1)


class ImportSettings(BaseSettings):
    """Limits on zip archives, checked entry by entry before GDAL opens one (see io.archive)."""

    model_config = _ENV

    zip_max_entries: int = Field(
        default=10_000, ge=1, description="Most entries (files and folders) a zip may hold."
    )
    zip_max_expanded_mb: int = Field(
        default=2048, ge=1, description="Largest total size of a zip's entries, expanded, in MiB."
    )
    zip_max_ratio: float = Field(
        default=500.0,
        gt=1,
        description=(
            "Highest expansion ratio (expanded / compressed size) of an entry expanding to 1 MiB "
            "or more. Attribute tables with blank text fields reach 100-150; Deflate itself stops "
            "near 1030."
        ),
    )


class ZoningSettings(BaseSettings):
    """Zoning land for ASM: when an available-land search runs as a job, and which zones are
    flagged as near an international border (analysis/available_land.py, store/zoning.py)."""

    model_config = SettingsConfigDict(
        env_prefix="GEO_SERVICE_ZONING_", env_file=".env", extra="ignore"
    )

    border_distance_m: float = Field(
        default=10_000.0,
        ge=0,
        description="A zone this close to an international border is flagged, in metres.",
    )
    job_area_ha: float = Field(
        default=1_000_000.0,
        gt=0,
        description="An available-land region larger than this, in hectares, runs as a job.",
    )
    job_vertices: int = Field(
        default=50_000, ge=1, description="A region with more vertices than this runs as a job."
    )
    nearby_m: float = Field(
        default=500.0,
        ge=0,
        description="Excluded features this far beyond their buffer from a piece are listed.",
    )


class MonitoringSettings(BaseSettings):
    """Site monitoring (store/monitoring.py): photo limits and the smallest count a figure
    shows to a caller not cleared for the records behind it."""

    model_config = SettingsConfigDict(
        env_prefix="GEO_SERVICE_MONITORING_", env_file=".env", extra="ignore"
    )

    photo_max_bytes: int = Field(
        default=8 * 1024 * 1024, gt=0, description="Largest accepted visit photo, in bytes."
    )
    thumbnail_px: int = Field(default=320, gt=16, le=2048, description="Thumbnail's long side.")
    min_cell_count: int = Field(
        default=5,
        ge=1,
        description="Below internal clearance, a figure's cell under this count is withheld.",
    )


class Settings:
    """All groups together; one instance per process (see `get_settings`)."""

    def __init__(self) -> None:
        self.db = DatabaseSettings()
        self.api = APISettings()
        self.tiles = TileSettings()
        self.screening = ScreeningSettings()
        self.imports = ImportSettings()
        self.rates = RateLimitSettings()
        self.zoning = ZoningSettings()
        self.monitoring = MonitoringSettings()


@lru_cache
def get_settings() -> Settings:
    return Settings()
