"""A small suite that test_processes.py runs as a pytest of its own (with an xdist worker) to
see that every long-lived fixture — cluster, database, live server, browser — is gone after it.
Its file name keeps it out of the main run's collection."""

from __future__ import annotations

import httpx


def test_the_map_opens_in_the_browser(browser, live_server: str) -> None:
    page = browser.new_page()
    page.goto(f"{live_server}/map")
    page.wait_for_selector("body.ready")
    page.close()


def test_the_live_server_answers(live_server: str, client) -> None:
    assert httpx.get(f"{live_server}/health", timeout=10).json()["status"] == "ok"
    assert client.get("/layers").status_code == 200
