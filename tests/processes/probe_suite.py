"""A small suite that test_processes.py runs as a pytest of its own (with xdist workers) to
see that every long-lived fixture — cluster, database, live server, browser — is gone after it.
Its file name keeps it out of the main run's collection."""

from __future__ import annotations

import httpx


def test_the_map_opens_in_the_browser(browser, live_server: str, demo) -> None:
    page = browser.new_page()
    page.goto(f"{live_server}/map")
    page.wait_for_selector("body.ready")
    page.close()


def test_the_live_server_runs_a_job(live_server: str, demo) -> None:
    job = httpx.post(
        f"{live_server}/analysis/overlap?async=true",
        json={"source": "asm-zones", "target": "concessions"},
        timeout=30,
    )
    assert job.status_code == 202, job.text
