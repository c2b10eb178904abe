"""The CLI starts without the heavy libraries: `import geo_service.cli` and `geo-service --help`
leave settings, the database and the geometry stack to the commands that use them (the time
this saves is measured by bench.imports, not here)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = (
    "alembic", "fastapi", "fpdf", "geoalchemy2", "geopandas", "jinja2", "mapbox_vector_tile",
    "matplotlib", "morecantile", "numpy", "pandas", "PIL", "psycopg", "pydantic",
    "pydantic_settings", "pyogrio", "pyproj", "rasterio", "rio_tiler", "shapely", "sqlalchemy",
    "uvicorn",
)  # fmt: skip

IMPORT = "import geo_service.cli"
HELP = """
import sys
from geo_service import cli
sys.argv = ["geo-service", "--help"]
try:
    cli.main()
except SystemExit as exit:
    assert not exit.code, exit.code
"""


def loaded_after(code: str) -> set[str]:
    """The top-level packages a fresh interpreter holds once it has run `code`."""
    report = (
        "\nimport json, sys\nprint(json.dumps(sorted({m.partition('.')[0] for m in sys.modules})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code + report], capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize("code", [IMPORT, HELP], ids=["import", "help"])
def test_the_cli_starts_without_heavy_modules(code: str) -> None:
    assert loaded_after(code) & set(HEAVY) == set()


def test_the_check_sees_a_heavy_module() -> None:
    assert "shapely" in loaded_after(IMPORT + "\nimport shapely")
