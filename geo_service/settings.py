"""Settings grouped by concern; every knob is an environment variable GEO_SERVICE_*."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
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


class APISettings(BaseSettings):
    """How the HTTP service listens and what it accepts."""

    model_config = _ENV

    host: str = "127.0.0.1"
    port: int = 8000
    cors_origins: list[str] = Field(
        default_factory=lambda: ["*"], description="Origins allowed by CORS (JSON list)."
    )
    max_upload_mb: int = Field(default=200, description="Largest accepted upload, in MiB.")
    public_url: str | None = Field(
        default=None, description="Base URL used in links when behind a proxy."
    )
    basemap_url: str = Field(
        default="/basemap/{z}/{x}/{y}.png",
        description="XYZ template of the web map's default basemap; the default is served by us.",
    )


class Settings:
    """All groups together; one instance per process (see `get_settings`)."""

    def __init__(self) -> None:
        self.db = DatabaseSettings()
        self.api = APISettings()


@lru_cache
def get_settings() -> Settings:
    return Settings()
