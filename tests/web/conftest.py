"""Map page fixtures: fresh pages of the map per test (as an editor, a viewer or nobody), console
errors collected and checked."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from geo_service.demo import LAYERS

sync_api = pytest.importorskip("playwright.sync_api")

DEMO_LAYERS = tuple(spec["slug"] for spec in LAYERS)
# Where the app keeps the signed-in key (web/static/app/api.js): sessionStorage, per tab.
KEY_STORE = "geo-service.key"
# [the page's width, the screen's]: the screen's is clientWidth, not innerWidth, which a phone
# widens (the layout viewport) to fit whatever overflows.
PAGE_WIDTHS = "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"


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
    vendored scripts and the tiles (whose URLs carry the layer's version, so none is stale).
    Keys live in each page's sessionStorage, so pages of one context can be different people.
    It asks for reduced motion, as some users do: the map jumps instead of gliding, so tests
    wait for fewer frames (the first-load, embed and phone tests keep the animations)."""
    context = browser.new_context(
        viewport={"width": 1400, "height": 900},
        locale="en-GB",
        accept_downloads=True,
        reduced_motion="reduce",
    )
    # A blank page held open for the whole run: once a context's last page closes, Chromium
    # tears down what its pages share, and each test's page then cost twice the CPU to open.
    keeper = context.new_page()
    yield context
    keeper.close()
    context.close()


@pytest.fixture
def new_page(map_context, console: Console) -> Iterator[Callable[[], sync_api.Page]]:
    """new_page() -> a blank page whose console errors fail the test; closed after it."""
    pages: list[sync_api.Page] = []

    def make() -> sync_api.Page:
        page = map_context.new_page()
        # A failed load names no URL in its text: its location does.
        page.on(
            "console",
            lambda m: (
                m.type == "error"
                and console.errors.append(f"console: {m.text} ({m.location.get('url', '')})")
            ),
        )
        page.on("pageerror", lambda e: console.errors.append(f"page error: {e}"))
        pages.append(page)
        return page

    yield make
    for page in pages:
        page.close()
    assert console.unexpected() == []


@pytest.fixture
def open_map(
    new_page, live_server: str, demo, keys: dict[str, str]
) -> Callable[..., sync_api.Page]:
    """open_map(role=None, lang=None, key=None, layers=DEMO_LAYERS) -> a fresh page of the map,
    ready (layers loaded), signed in with the key of `role` ("viewer", "editor", "admin"), or
    with `key` (one the server may refuse), or anonymous, showing `layers` at start (the page's
    `layers` parameter; None: every layer, as without it). The demo's by default: not the
    dozens other tests of the worker leave in its database, which each page would draw.

    Signed in as the form leaves it: the key in the tab's sessionStorage, which the page finds
    at start-up and keeps over a reload."""

    def open_(
        role: str | None = None,
        lang: str | None = None,
        key: str | None = None,
        layers: Iterable[str] | None = DEMO_LAYERS,
    ) -> sync_api.Page:
        page = new_page()
        secret = key or (keys[role] if role else None)
        if secret:
            # Once, before the page's scripts first run: a sign-out must outlast a reload.
            page.add_init_script(
                f"""if (!sessionStorage.getItem("test.seeded")) {{
                    sessionStorage.setItem("test.seeded", "1");
                    sessionStorage.setItem({json.dumps(KEY_STORE)}, {json.dumps(secret)});
                }}"""
            )
        query = {"lang": lang, "layers": ",".join(layers) if layers is not None else None}
        page.goto(f"{live_server}/map?" + urlencode({k: v for k, v in query.items() if v}))
        page.wait_for_selector("body.ready")
        if key is None:
            assert page.evaluate("app.auth.me.role") == role
        return page

    return open_


@pytest.fixture
def page(open_map) -> sync_api.Page:
    """A fresh English page of the map, signed in as the editor (key name "test-editor")."""
    return open_map("editor")


def _messages(lang: str) -> dict[str, str]:
    def flat(tree: dict, prefix: str = "") -> Iterator[tuple[str, str]]:
        for key, value in tree.items():
            if isinstance(value, dict):
                yield from flat(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}", value

    path = Path(__file__).resolve().parents[2] / "web" / "static" / "i18n" / f"{lang}.json"
    return dict(flat(json.loads(path.read_text("utf-8"))))


def _english_only() -> list[re.Pattern[str]]:
    """Every English message of the interface that French says otherwise, as a whole-word
    pattern; a message with parameters or markup by its fixed parts of two words or more."""
    english, french = _messages("en"), _messages("fr")
    said_in_french = "\n".join(re.sub(r"<[^>]+>", "\n", text) for text in french.values())
    phrases: set[str] = set()
    for key, text in english.items():
        if french.get(key) == text:
            continue
        whole = "{" not in text and "<" not in text
        for part in re.split(r"\{[^}]*\}|<[^>]+>", text):
            part = part.strip(" .,:;()«»\"'")
            if not re.search(r"[A-Za-z]{2}", part) or part in said_in_french:
                continue  # no word, or words French uses too (names, units, acronyms)
            if whole or " " in part:
                phrases.add(part)
    return [re.compile(rf"(?<![\w-]){re.escape(p)}(?![\w-])") for p in sorted(phrases)]


ENGLISH_ONLY = _english_only()
# Every text of a page that people read: text nodes and the attributes that are read out or
# shown (placeholders, tooltips, labels), the contents of hidden panels included. Not the map's
# credits: each layer's attribution is shown in the words its publisher gave it.
_PAGE_TEXTS = """() => {
  const parts = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: n => n.parentElement.closest("script, style, template, .leaflet-control-attribution")
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT });
  while (walk.nextNode()) parts.push(walk.currentNode.nodeValue);
  for (const e of document.querySelectorAll("[placeholder], [title], [aria-label], [alt]"))
    for (const a of ["placeholder", "title", "aria-label", "alt"])
      if (e.getAttribute(a)) parts.push(e.getAttribute(a));
  parts.push(document.title);
  return parts.map(p => p.trim()).filter(p => p);
}"""


def english_on(page_or_frame) -> list[tuple[str, str]]:
    """(English message, the text it was found in) for every message of the interface's English
    that a page in French still shows."""
    found = []
    for text in page_or_frame.evaluate(_PAGE_TEXTS):
        for pattern in ENGLISH_ONLY:
            if pattern.search(text):
                found.append((pattern.pattern, text[:120]))
    return found


@contextmanager
def internal_parcel(live_server: str, admin: dict[str, str], prefix: str) -> Iterator[str]:
    """An internal layer of one parcel ("Parcelle interne", usage agriculture) near Kangaba,
    readable with any key and by nobody without one; deleted afterwards."""
    slug = f"{prefix}-{uuid.uuid4().hex[:6]}"
    made = httpx.post(
        f"{live_server}/layers",
        json={"slug": slug, "title": "Parcelles internes", "visibility": "internal"},
        headers=admin,
    )
    assert made.status_code == 201
    ring = [[-8.6, 12.3], [-8.5, 12.3], [-8.5, 12.4], [-8.6, 12.4], [-8.6, 12.3]]
    feature = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"name": "Parcelle interne", "usage": "agriculture"},
    }
    created = httpx.post(f"{live_server}/collections/{slug}/items", json=feature, headers=admin)
    assert created.status_code == 201
    try:
        yield slug
    finally:
        httpx.delete(f"{live_server}/layers/{slug}", headers=admin)
