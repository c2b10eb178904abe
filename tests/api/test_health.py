"""Health answers with the versions, and 503 when the database is gone."""

import re
import socket

import httpx
from fastapi.testclient import TestClient

from geo_service.api.app import create_app


def test_health_reports_postgis(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["postgis"].startswith("3.")
    assert "PostgreSQL" in body["database"]


def test_health_is_503_without_database() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    app = create_app(f"postgresql+psycopg://nobody:x@127.0.0.1:{port}/none")
    with TestClient(app) as c:
        response = c.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_openapi_is_served(client: TestClient) -> None:
    assert client.get("/openapi.json").json()["info"]["title"] == "geo-service"
    assert client.get("/docs").status_code == 200


def test_head_answers_as_get_without_the_body(live_server: str, demo) -> None:
    """Through the real server (uvicorn): HEAD on a page, a file, an OGC resource, a tile and
    the basemap gives GET's status and headers, and no body; a missing resource is 404 alike."""
    page = httpx.get(f"{live_server}/map").text
    script = re.search(r'src="(/static/app/main\.js\?v=[0-9a-f]+)"', page).group(1)
    for path in (
        "/health",
        script,
        "/collections/concessions",
        "/collections/concessions/items?limit=2",
        "/tiles/concessions/8/124/119.mvt",
        "/basemap/5/15/14.png",
    ):
        got = httpx.get(f"{live_server}{path}", headers={"Accept-Encoding": "identity"})
        head = httpx.head(f"{live_server}{path}", headers={"Accept-Encoding": "identity"})
        assert (head.status_code, head.content) == (got.status_code, b""), path
        for name in ("content-type", "etag", "cache-control"):
            assert head.headers.get(name) == got.headers.get(name), (path, name)
        if "content-length" in got.headers and "etag" in got.headers:
            assert head.headers["content-length"] == got.headers["content-length"], path
    missing = httpx.head(f"{live_server}/collections/no-such-layer")
    assert missing.status_code == 404 and missing.content == b""
