"""Map page fixtures: a fresh page of the map per test, console errors collected and checked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

sync_api = pytest.importorskip("playwright.sync_api")


class Console:
    """Console errors and uncaught exceptions of a page; `expect` names ones a test provokes."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.expected: list[str] = []

    def expect(self, fragment: str) -> None:
        self.expected.append(fragment)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(f in e for f in self.expected)]


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture(scope="session")
def map_context(browser) -> Iterator[sync_api.BrowserContext]:
    """One English browser context for the map tests of a worker: its HTTP cache keeps the
    vendored scripts and the tiles (whose URLs carry the layer's version, so none is stale)."""
    context = browser.new_context(
        viewport={"width": 1400, "height": 900}, locale="en-GB", accept_downloads=True
    )
    yield context
    context.close()


@pytest.fixture
def page(map_context, live_server: str, demo, console: Console) -> Iterator[sync_api.Page]:
    """A fresh English page of the map, ready (layers loaded); fails on any console error."""
    page = map_context.new_page()
    page.on("console", lambda m: m.type == "error" and console.errors.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: console.errors.append(f"page error: {e}"))
    page.goto(f"{live_server}/map")
    page.wait_for_selector("body.ready")
    yield page
    page.evaluate("localStorage.clear()")  # what one test saved must not reach the next
    page.close()
    assert console.unexpected() == []
