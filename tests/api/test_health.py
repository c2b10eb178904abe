"""Health answers with the versions, and 503 when the database is gone."""

import socket

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
