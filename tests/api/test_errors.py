"""Every error is an RFC 9457 problem-details body whose type names the problem."""

from fastapi.testclient import TestClient


def test_projected_coordinates_give_an_invalid_crs_problem(client: TestClient, demo) -> None:
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [5e5, 1.3e6]}}
    response = client.post("/collections/mine-sites/items", json=feature)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/invalid-crs"
    assert body["status"] == 422 and "EPSG:4326" in body["detail"]
    assert body["instance"] == "/collections/mine-sites/items"


def test_malformed_json_is_a_problem_not_a_crash(client: TestClient, demo) -> None:
    response = client.post(
        "/collections/mine-sites/items",
        content=b"{",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["title"] == "Malformed JSON"
    assert "char 1" in response.json()["detail"]  # where it broke
