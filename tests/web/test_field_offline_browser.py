"""The field form opens without a network: a service worker (GET /field-sw.js) keeps the page
and its files, so that a reload where there is no signal still shows the form and its queue,
and an entry recorded there reaches the server once, when the phone is back online."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import Engine

from geo_service.api import web
from tests.web.test_field_browser import _stored, phone, site_layer  # noqa: F401

CONTROLLED = "navigator.serviceWorker.controller !== null"
CACHES = "caches.keys()"
# The names of the origin's caches once they are `expected` (sorted), or after 15 s.
CACHES_BECOME = """async (expected) => {
  for (const end = Date.now() + 15000; ; await new Promise((r) => setTimeout(r, 100))) {
    const names = (await caches.keys()).sort();
    if (JSON.stringify(names) === JSON.stringify(expected) || Date.now() > end) return names;
  }
}"""


@pytest.fixture
def rendered(monkeypatch) -> list[str]:
    """The names of the templates the server renders from now on (the live server runs in this
    process): a page the worker gave from its cache is not among them."""
    names: list[str] = []
    render = web.templates.TemplateResponse

    def counted(request, name: str, *args, **kwargs):
        names.append(name)
        return render(request, name, *args, **kwargs)

    monkeypatch.setattr(web.templates, "TemplateResponse", counted)
    return names


def _worker_lists(script: str) -> dict[str, object]:
    return {
        name: json.loads(value)
        for name, value in re.findall(r"^const (CACHE|PAGES|FILES) = (.*?);", script, re.M)
    }


def test_worker_route_answers_javascript_revalidated_with_the_page_files(client) -> None:
    worker = client.get("/field-sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["cache-control"] == "no-cache"
    lists = _worker_lists(worker.text)
    page = client.get("/field?lang=fr").text
    version = re.search(r'src="/static/app/field\.js\?v=([0-9a-f]{12})"', page).group(1)
    assert lists["CACHE"] == f"geo-service.field-{version}"
    assert lists["PAGES"] == ["/field", "/field?lang=en", "/field?lang=fr"]
    # The files the page names, found in the page by hand: its script, its styles, its icon.
    named = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert sorted(lists["FILES"]) == sorted(named)
    assert f"/static/app/field.js?v={version}" in lists["FILES"]
    assert f"/static/app/field.css?v={version}" in lists["FILES"]
    assert f"/static/app/icon.svg?v={version}" in lists["FILES"]
    for url in lists["FILES"]:
        assert client.get(url).status_code == 200, url


def test_form_reloaded_offline_records_an_entry_that_arrives_once(
    phone,  # noqa: F811
    live_server: str,
    site_layer,  # noqa: F811
    engine: Engine,
    rendered: list[str],
    console,
) -> None:
    context, page = phone
    slug, ids = site_layer
    page.goto(f"{live_server}/field")  # the phone asks for French
    page.wait_for_selector("body.ready")
    page.wait_for_function(CONTROLLED, timeout=15_000)
    page.select_option("#site-layer", slug)
    page.wait_for_function(
        "id => document.querySelector('#site').value === String(id)", arg=ids["Kalima river bank"]
    )
    version = page.evaluate(CACHES)
    assert len(version) == 1 and version[0].startswith("geo-service.field-")
    before = _stored(engine, slug)

    context.set_offline(True)
    page.wait_for_function("!navigator.onLine")
    rendered.clear()
    assert page.evaluate("fetch('/layers').then(() => 'answered', () => 'failed')") == "failed"
    page.reload()
    page.wait_for_selector("body.ready")
    assert page.evaluate(CONTROLLED)
    assert page.locator("#record").inner_text() == "Enregistrer"
    assert page.locator("#net").inner_text() == "hors ligne"
    # The layer last worked on and its sites, as the form read them online.
    assert page.locator("#site-layer").input_value() == slug
    page.wait_for_function(
        "id => document.querySelector('#site').value === String(id)", arg=ids["Kalima river bank"]
    )
    page.check("input[name=kind][value=incident]")
    page.select_option("#category", "child_labour")
    page.select_option("#severity", "high")
    page.click("#record")
    assert page.locator("#queue-count").inner_text() == "1"
    # A second reload offline still shows the queued entry.
    page.reload()
    page.wait_for_selector("body.ready")
    assert page.locator("#queue li").count() == 1
    page.wait_for_function(  # the form tried to send it, and saw that fail
        "JSON.parse(localStorage.getItem('geo-service.field-queue'))[0].tries >= 1"
    )
    assert rendered == []  # both pages came from the worker's cache
    # Not checked here: that the server has nothing yet. Chromium's emulated offline now and then
    # lets a send from a page the worker served reach the server while the page sees it fail:
    # the lost answer that the entry's key is for, as the next lines show.

    context.set_offline(False)
    page.wait_for_function(
        "document.querySelector('#queue-count').textContent === '0'", timeout=30_000
    )
    page.click("#send-now")
    stored = _stored(engine, slug)
    assert sorted(stored) == sorted([*before, ("child_labour", ids["Kalima river bank"])])
    assert console.unexpected() == []


def test_a_new_version_of_the_files_replaces_the_old_cache(
    phone,  # noqa: F811
    live_server: str,
    monkeypatch,
    console,
) -> None:
    context, page = phone
    page.goto(f"{live_server}/field?lang=en")
    page.wait_for_selector("body.ready")
    page.wait_for_function(CONTROLLED, timeout=15_000)
    (first,) = page.evaluate(CACHES)
    page.evaluate("caches.open('another-app')")  # not the worker's: it stays
    # A release: the files' version changes, so does the worker, which brings its new cache.
    monkeypatch.setattr(web, "asset_version", lambda: "0123456789ab")
    page.evaluate("navigator.serviceWorker.getRegistration('/field').then((r) => r.update())")
    expected = ["another-app", "geo-service.field-0123456789ab"]
    assert page.evaluate(CACHES_BECOME, expected) == expected
    assert first.startswith("geo-service.field-") and first not in expected
    kept = page.evaluate(
        """caches.open('geo-service.field-0123456789ab')
             .then((c) => c.keys()).then((rs) => rs.map((r) => new URL(r.url).pathname + new URL(r.url).search))"""
    )
    assert "/static/app/field.js?v=0123456789ab" in kept and "/field?lang=fr" in kept
    assert console.unexpected() == []
