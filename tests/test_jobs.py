"""Jobs run in the background and report progress and results through the API."""

import time

from fastapi.testclient import TestClient

from geo_service import jobs
from geo_service.domain.access import OPERATOR
from geo_service.errors import InvalidInput


def _wait(client: TestClient, job_id: str) -> dict:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        body = client.get(f"/jobs/{job_id}").json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError("job did not finish")


def test_job_reports_progress_and_result(client: TestClient, engine) -> None:
    seen = []

    def work(report):
        report(0.5, "half way")
        seen.append(jobs.status(engine, job_id, OPERATOR)["progress"])
        return {"answer": 42}

    job_id = jobs.submit(engine, "test", work, owner=OPERATOR)
    body = _wait(client, job_id)
    assert body["status"] == "done" and body["result"] == {"answer": 42}
    assert body["progress"] == 1.0 and seen == [0.5]


def test_failed_job_says_why(client: TestClient, engine) -> None:
    def work(report):
        raise InvalidInput("row 3 has no geometry", where={"index": 3})

    body = _wait(client, jobs.submit(engine, "test", work, owner=OPERATOR))
    assert body["status"] == "failed"
    assert body["error"]["detail"] == "row 3 has no geometry"
    assert body["error"]["where"] == {"index": 3}


def test_unknown_job_is_404(client: TestClient) -> None:
    response = client.get("/jobs/nope")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
