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


@pytest.fixture
def page(browser, live_server: str, demo, console: Console) -> Iterator[sync_api.Page]:
    """A fresh English page of the map, ready (layers loaded); fails on any console error."""
    context = browser.new_context(
        viewport={"width": 1400, "height": 900}, locale="en-GB", accept_downloads=True
    )
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and console.errors.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: console.errors.append(f"page error: {e}"))
    page.goto(f"{live_server}/map")
    page.wait_for_selector("body.ready")
    yield page
    context.close()
    assert console.unexpected() == []
