"""The field form on a phone: entries recorded offline wait in the browser's queue, reach the
server once the phone is back online, exactly once each, also when the answer to a send is
lost and the form sends again (the server finds the entry by its key)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from geo_service.domain.access import OPERATOR
from geo_service.store import layers as store
from tests.web.conftest import KEY_STORE, PAGE_WIDTHS

SITES = [("Kalima pit", 27.60, -3.30), ("Kalima river bank", 27.62, -3.31)]
HERE = {"longitude": 27.6201, "latitude": -3.3098}  # a few metres from the river bank


@pytest.fixture(scope="module")
def site_layer(engine: Engine, demo) -> Iterator[tuple[str, dict[str, int]]]:
    slug = f"field-sites-{uuid.uuid4().hex[:6]}"
    with Session(engine) as s:
        layer = store.create_layer(s, slug, OPERATOR, kind="mine_site", visibility="public")
        ids = {
            name: store.create_feature(
                s, layer, {"type": "Point", "coordinates": [lon, lat]}, {"name": name},
                who=OPERATOR,
            ).id
            for name, lon, lat in SITES
        }  # fmt: skip
        s.commit()
    yield slug, ids
    with Session(engine) as s:
        store.delete_layer(s, slug, OPERATOR)
        s.commit()


def _stored(engine: Engine, slug: str) -> list[tuple[str, int]]:
    with engine.connect() as c:
        return [tuple(r) for r in c.execute(text(
            "SELECT 'visit', feature_id FROM monitoring_visits v JOIN layers l ON l.id = v.layer_id"
            " WHERE l.slug = :s UNION ALL SELECT category, feature_id FROM incidents i"
            " JOIN layers l ON l.id = i.layer_id WHERE l.slug = :s ORDER BY 1"), {"s": slug})]  # fmt: skip


@pytest.fixture
def phone(browser, live_server: str, keys: dict[str, str], console) -> Iterator:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
        geolocation=HERE, permissions=["geolocation"], locale="fr-FR",
    )  # fmt: skip
    context.add_init_script(f"sessionStorage.setItem('{KEY_STORE}', '{keys['editor']}')")
    page = context.new_page()
    page.on("pageerror", lambda e: console.errors.append(f"page error: {e}"))
    yield context, page
    context.close()


def _beyond_the_screen(page) -> list[str]:
    """The form's controls that reach past the phone's screen, and a page wider than it."""
    return page.evaluate(
        f"""() => {{
            const [width, screen] = {PAGE_WIDTHS};
            return [...document.querySelectorAll("input, select, textarea, button")]
              .filter((e) => e.offsetParent && e.getBoundingClientRect().right > screen + 0.5)
              .map((e) => e.id || e.name || e.tagName)
              .concat(width > screen ? ["(page)"] : []);
        }}"""
    )


def test_three_entries_made_offline_arrive_once_each_also_after_a_lost_answer(
    phone, live_server: str, site_layer, engine: Engine, console
) -> None:
    context, page = phone
    slug, ids = site_layer
    page.goto(f"{live_server}/field")  # the phone asks for French
    page.wait_for_selector("body.ready")
    assert page.locator("#record").inner_text() == "Enregistrer"
    assert _beyond_the_screen(page) == []  # the three counts side by side once hid the third
    page.select_option("#site-layer", slug)
    # The phone's position picks the nearest site first.
    page.wait_for_function(
        "id => document.querySelector('#site').value === String(id)", arg=ids["Kalima river bank"]
    )
    before = _stored(engine, slug)
    context.set_offline(True)
    page.wait_for_function("!navigator.onLine")
    page.fill("#workers", "30")
    page.fill("#women", "9")
    page.click("#record")
    page.check("input[name=kind][value=incident]")
    assert _beyond_the_screen(page) == []
    page.select_option("#category", "worst_forms_child_labour")
    page.select_option("#severity", "critical")
    page.click("#record")
    page.select_option("#site", str(ids["Kalima pit"]))
    page.select_option("#category", "water")
    page.click("#record")
    assert page.locator("#queue-count").inner_text() == "3"
    assert page.locator("#queue li").count() == 3
    assert _stored(engine, slug) == before
    # Back online, the first answer to each send is lost after the server stored the entry:
    # the form sends again with the same key, and the server answers with what it stored.
    lost: set[str] = set()

    def lose_first_answer(route) -> None:
        key = route.request.headers.get("idempotency-key", "")
        route.fetch()  # the server receives and stores the entry
        if key in lost:
            route.continue_()
        else:
            lost.add(key)
            route.abort("connectionreset")

    console.expect("ERR_CONNECTION_RESET")
    page.route("**/monitoring/*s", lambda route: (
        lose_first_answer(route) if route.request.method == "POST" else route.continue_()))  # fmt: skip
    context.set_offline(False)
    page.wait_for_function("document.querySelector('#queue-count').textContent === '0'",
                           timeout=30_000)  # fmt: skip
    assert len(lost) == 3
    stored = _stored(engine, slug)
    assert len(stored) == len(before) + 3
    assert sorted(stored) == sorted([*before, ("visit", ids["Kalima river bank"]),
                                     ("worst_forms_child_labour", ids["Kalima river bank"]),
                                     ("water", ids["Kalima pit"])])  # fmt: skip
    # A forced resend of nothing queued sends nothing more.
    page.click("#send-now")
    assert len(_stored(engine, slug)) == len(before) + 3
    with engine.connect() as c:
        visit = c.execute(text("SELECT workers, women, ST_X(position), ST_Y(position) FROM "
                               "monitoring_visits v JOIN layers l ON l.id = v.layer_id "
                               "WHERE l.slug = :s ORDER BY v.id DESC LIMIT 1"), {"s": slug}).one()  # fmt: skip
    assert (visit[0], visit[1]) == (30, 9)
    assert (visit[2], visit[3]) == pytest.approx((HERE["longitude"], HERE["latitude"]))
    page.goto(f"{live_server}/field?lang=en")
    page.wait_for_selector("body.ready")
    assert page.locator("#record").inner_text() == "Record"
    assert page.locator("#queue-count").inner_text() == "0"
    assert console.unexpected() == []
