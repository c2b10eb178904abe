"""Write the bytecode of what `geo-service` runs: every module of geo_service and all that they
import, including what they import only when first needed (files, PDFs, rasters, migrations),
and the libraries of the test suite when they are installed.

Run by the Makefile once the packages are installed. Where PYTHONDONTWRITEBYTECODE is set (as on
CI), no Python process writes bytecode, and each would compile geopandas, SQLAlchemy... from
source on every start. Compiling the whole environment (compileall) also compiled the three
quarters of it that the service never imports (mypy, ruff's, the packages' own tools) and took
16 s here; importing what runs writes its bytecode and nothing else, in about 9 s. (The test
modules write theirs as they are imported: make test runs pytest without
PYTHONDONTWRITEBYTECODE.)
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from pathlib import Path

sys.dont_write_bytecode = False

# Imported inside functions, on the first import, export, PDF, raster or migration.
LATER = ["geopandas", "pyogrio", "rasterio", "rio_tiler.io", "fpdf", "alembic.command", "uvicorn"]
# What the tests import, written here rather than by both test workers at once as they start.
TESTS = [
    "pytest", "xdist", "pytest_timeout", "hypothesis", "schemathesis", "playwright.sync_api",
    "httpx", "owslib.ogcapi.features", "pypdf", "mapbox_vector_tile", "openapi_spec_validator",
]  # fmt: skip


def main() -> None:
    import geo_service

    for module in pkgutil.walk_packages(geo_service.__path__, "geo_service."):
        importlib.import_module(module.name)
    for name in LATER:
        importlib.import_module(name)
    for name in TESTS:
        if importlib.util.find_spec(name.split(".")[0]) is not None:
            importlib.import_module(name)
    # Alembic loads each migration from its file: its bytecode is written the same way.
    versions = Path(__file__).resolve().parents[1] / "migrations" / "versions"
    for path in sorted(versions.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"_migration_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


if __name__ == "__main__":
    main()
