"""The monitoring dashboard in a browser, in French and in English: each chart holds the figures
of a small programme counted by hand here, the table under it says the same numbers, the share
executed is the one programmes publish, and the API's refusals are shown in the page's language."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from geo_service.domain.access import OPERATOR
from geo_service.reports.words import _MONTHS
from geo_service.store import layers as store
from tests.web.conftest import KEY_STORE, PAGE_WIDTHS, english_on

SITES = ("Kalima", "Lugushwa", "Twangiza", "Kamituga")
# (site, occurred_on, category, verification), programme year 2026 unless said
INCIDENTS = [
    (0, "2026-04-12", "child_labour", "verified"),  # human rights
    (0, "2026-04-20", "worst_forms_child_labour", "verified"),  # human rights
    (1, "2026-05-05", "non_state_armed_groups", "verified"),  # security
    (1, "2026-05-06", "water", "unverified"),  # environment, apart
    (2, "2026-07-01", "corruption", "verified"),  # legality
    (2, "2026-07-02", "corruption", "rejected"),  # never counted
    (0, "2025-11-01", "water", "verified"),  # programme year 2025: outside
]
# (site, recommended_on, status reached, due_on): 3 done, 2 in progress, 2 not started
ACTIONS = [
    (0, "2026-04-15", "done", None), (0, "2026-04-16", "done", None),
    (1, "2026-05-10", "done", None), (1, "2026-05-11", "in_progress", None),
    (2, "2026-07-05", "in_progress", None), (2, "2026-07-06", None, "2026-06-30"),
    (3, "2026-08-01", None, None),
]  # fmt: skip
# (site, effective_on, qualification, operating); Kamituga has none: not assessed
STATUSES = [
    (0, "2026-04-01", "green", "active"),
    (1, "2026-05-01", "red", "suspended"),
    (2, "2026-06-01", "green", None),
]
# (site, visited_on, workers, women, children)
VISITS = [(0, "2026-04-12", 40, 12, 3), (1, "2026-04-25", 25, 6, 0), (2, "2026-06-10", 18, 7, 2)]
MONTHS = [f"2026-{m:02d}" for m in range(4, 13)] + [f"2027-{m:02d}" for m in range(1, 4)]
DOMAIN_ORDER = ("human_rights", "security", "working_conditions", "community", "legality",
                "traceability", "environment")  # fmt: skip
DOMAIN_OF = {"child_labour": "human_rights", "worst_forms_child_labour": "human_rights",
             "non_state_armed_groups": "security", "water": "environment",
             "corruption": "legality"}  # fmt: skip


@pytest.fixture(scope="module")
def programme(engine: Engine) -> Iterator[str]:
    slug = f"dash-sites-{uuid.uuid4().hex[:6]}"
    with Session(engine) as s:
        layer = store.create_layer(s, slug, OPERATOR, kind="mine_site", visibility="public")
        ids = [
            store.create_feature(s, layer, {"type": "Point", "coordinates": [28.0 + n / 10, -3]},
                                 {"name": name}, who=OPERATOR).id
            for n, name in enumerate(SITES)
        ]  # fmt: skip
        layer_id = layer.id
        s.commit()
    with engine.begin() as c:
        for site, day, category, verification in INCIDENTS:
            c.execute(
                text("INSERT INTO incidents (layer_id, feature_id, occurred_on, category, severity,"
                     " verification) VALUES (:l, :f, :d, :c, 'high', :v)"),
                {"l": layer_id, "f": ids[site], "d": day, "c": category, "v": verification},
            )  # fmt: skip
        for site, day, status, due in ACTIONS:
            action = c.execute(
                text("INSERT INTO corrective_actions (layer_id, feature_id, stakeholder,"
                     " description, recommended_on, due_on, status) VALUES (:l, :f,"
                     " 'mining_cooperatives', 'act', :d, :due, coalesce(:s, 'recommended'))"
                     " RETURNING id"),
                {"l": layer_id, "f": ids[site], "d": day, "due": due, "s": status},
            ).scalar_one()  # fmt: skip
            if status:
                c.execute(
                    text("INSERT INTO action_progress (action_id, status, effective_on)"
                         " VALUES (:a, :s, '2026-09-01')"), {"a": action, "s": status},
                )  # fmt: skip
        for site, day, qualification, operating in STATUSES:
            c.execute(
                text("INSERT INTO site_statuses (layer_id, feature_id, effective_on,"
                     " qualification, operating) VALUES (:l, :f, :d, :q, :o)"),
                {"l": layer_id, "f": ids[site], "d": day, "q": qualification, "o": operating},
            )  # fmt: skip
        for site, day, workers, women, children in VISITS:
            c.execute(
                text("INSERT INTO monitoring_visits (layer_id, feature_id, visited_on, workers,"
                     " women, children) VALUES (:l, :f, :d, :w, :wo, :ch)"),
                {"l": layer_id, "f": ids[site], "d": day, "w": workers, "wo": women,
                 "ch": children},
            )  # fmt: skip
    yield slug
    with Session(engine) as s:
        store.delete_layer(s, slug, OPERATOR)
        s.commit()


# -- what the page should say, counted by hand from the lists above ---------------------------
# The figures of a programme year still running stand as of today, else as of its last day.
STANDS = min(date.today(), date(2027, 3, 31))


def _stands(lang: str) -> str:
    # the reports' month names; the page's come from the browser's toLocaleDateString
    return f"{STANDS.day} {_MONTHS[lang].split()[STANDS.month - 1]} {STANDS.year}"


IN_YEAR = [i for i in INCIDENTS if "2026-04-01" <= i[1] <= "2027-03-31"]
VERIFIED = Counter(DOMAIN_OF[c] for _, _, c, v in IN_YEAR if v == "verified")
UNVERIFIED = Counter(DOMAIN_OF[c] for _, _, c, v in IN_YEAR if v == "unverified")
BY_DOMAIN = [[VERIFIED[d], UNVERIFIED[d]] for d in DOMAIN_ORDER]  # [[2,0],[1,0],..,[0,1]]
BY_MONTH = [
    [sum(1 for i in IN_YEAR if i[1][:7] == m and i[3] == v) for v in ("verified", "unverified")]
    for m in MONTHS
]
DONE = sum(1 for a in ACTIONS if a[2] == "done")  # 3
IN_PROGRESS = sum(1 for a in ACTIONS if a[2] == "in_progress")  # 2
SHARE = round(100 * (DONE + IN_PROGRESS) / len(ACTIONS), 1)  # 5 / 7 = 71.4 %
VISITS_BY_MONTH = [
    [sum(1 for v in VISITS if v[1][:7] == m), *(sum(v[k] for v in VISITS if v[1][:7] == m)
                                                for k in (2, 3, 4))]
    for m in MONTHS
]  # fmt: skip

# The numbers of a table's body, and of its foot, as the page writes them.
_TABLE = """id => {
  const cells = (tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent);
  const section = document.getElementById(id);
  return {
    heads: [...section.querySelectorAll("tbody th")].map((th) => th.textContent),
    body: [...section.querySelectorAll("tbody tr")].map(cells),
    foot: [...section.querySelectorAll("tfoot tr")].map(cells),
  };
}"""
# Each chart's data, and whether its canvas holds drawn pixels.
_CHART = """id => {
  const canvas = document.getElementById(`chart-${id}`);
  const chart = Chart.getChart(canvas);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let drawn = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) drawn += 1;
  return { type: chart.config.type, labels: chart.data.labels,
           data: chart.data.datasets.map((d) => d.data), drawn };
}"""


def _numbers(rows: list[list[str]]) -> list[list[int]]:
    return [[int(cell) for cell in row] for row in rows]


def _check_figures(page, lang: str) -> None:
    charts = {name: page.evaluate(_CHART, name) for name in
              ("domains", "months", "actions", "sites", "visits")}  # fmt: skip
    assert all(chart["drawn"] > 0 for chart in charts.values()), "every canvas is drawn"
    domains = page.evaluate(_TABLE, "domains")
    assert _numbers(domains["body"]) == BY_DOMAIN
    assert _numbers(domains["foot"]) == [[4, 1]]  # 4 verified, 1 awaiting
    assert charts["domains"]["data"] == [[v for v, _ in BY_DOMAIN], [u for _, u in BY_DOMAIN]]
    months = page.evaluate(_TABLE, "months")
    assert _numbers(months["body"]) == BY_MONTH
    assert charts["months"]["data"] == [[v for v, _ in BY_MONTH]]
    actions = page.evaluate(_TABLE, "actions")
    not_started = len(ACTIONS) - DONE - IN_PROGRESS
    assert _numbers(actions["body"]) == [[not_started], [IN_PROGRESS], [DONE]]
    assert _numbers(actions["foot"]) == [[len(ACTIONS)], [1]]  # one overdue since 30 June
    assert charts["actions"]["type"] == "doughnut"
    assert charts["actions"]["data"] == [[not_started, IN_PROGRESS, DONE]]
    shown = f"{SHARE:.1f}".replace(".", "," if lang == "fr" else ".") + " %"
    assert page.locator("#share").inner_text() == shown
    # qualification as of the period's end, in the registry's order: green, yellow, red, not assessed
    sites = page.evaluate(_TABLE, "sites")
    assert _numbers(sites["body"]) == [[2], [0], [1], [1]]
    assert charts["sites"]["data"] == [[2, 0, 1, 1]]
    visits = page.evaluate(_TABLE, "visits")
    assert _numbers(visits["body"]) == VISITS_BY_MONTH
    assert _numbers(visits["foot"]) == [[3, 83, 25, 5]]
    assert charts["visits"]["data"] == [[row[k] for row in VISITS_BY_MONTH] for k in (1, 2, 3)]


def test_dashboard_in_french(new_page, live_server: str, keys: dict[str, str], programme,
                             console) -> None:  # fmt: skip
    page = new_page()
    page.add_init_script(f"sessionStorage.setItem({json.dumps(KEY_STORE)}, "
                         f"{json.dumps(keys['editor'])})")  # fmt: skip
    page.goto(f"{live_server}/dashboard?lang=fr#year=2026&layer={programme}")
    page.wait_for_selector("body.ready #figures:not([hidden])")
    assert page.locator("h1").inner_text() == "Tableau de bord du suivi"
    assert page.locator("#layer").input_value() == programme
    _check_figures(page, "fr")
    domains = page.evaluate(_TABLE, "domains")["heads"]
    assert domains[0] == "Droits humains" and domains[4] == "Légalité"
    assert page.evaluate(_TABLE, "months")["heads"][0] == "avr. 2026"
    assert page.evaluate(_TABLE, "sites")["heads"] == ["vert", "jaune", "rouge", "non évalué"]
    assert (
        page.locator("#sites-title").inner_text() == f"Sites par qualification au {_stands('fr')}"
    )
    assert page.locator("#sites-active").inner_text() == (
        "Sites actifs à un moment de la période : 1 sur 4."
    )
    assert "5 des 7 actions" in page.locator("#share-detail").inner_text()
    assert "year=2026" in page.locator("#report-pdf").get_attribute("href")
    assert "lang=fr" in page.locator("#report-html").get_attribute("href")
    # The layer list also names the site layers other tests of this worker left, in the words
    # their makers gave them: those names are data, not the interface's.
    others = page.evaluate(
        "slug => [...document.querySelectorAll('#layer option')].filter(o => o.value !== slug)"
        ".map(o => (o.remove(), o.value))",
        programme,
    )
    assert programme not in others
    assert english_on(page) == []
    # On a phone's width the page does not scroll sideways: a table wider than the screen (the
    # visits', in French) scrolls in its card.
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_function(f"(([page, screen]) => page <= screen)({PAGE_WIDTHS})", timeout=5000)
    page.set_viewport_size({"width": 1400, "height": 900})
    # A period that ends before it starts: the API refuses, the page says why, in French.
    console.expect("status of 400")
    page.select_option("#year", "")
    page.fill("#from", "2026-06-01")
    page.fill("#to", "2026-05-01")
    page.locator("#to").dispatch_event("change")
    error = page.locator("#error")
    error.wait_for(state="visible")
    assert error.inner_text().startswith("Les chiffres ne peuvent être affichés : ")
    assert "est après" in error.inner_text()


def test_dashboard_in_english_after_signing_in(new_page, live_server: str,
                                               keys: dict[str, str], programme,
                                               console) -> None:  # fmt: skip
    console.expect("status of 401")  # the wrong key, refused
    page = new_page()
    page.goto(f"{live_server}/dashboard#year=2026&layer={programme}")  # the browser asks English
    page.wait_for_selector("body.ready #key-form:not([hidden])")
    assert page.locator("#figures").is_hidden()
    page.fill("#key-input", keys["viewer"] + "-wrong")
    page.locator("#key-form button[type=submit]").click()
    page.wait_for_selector("#key-error:not([hidden])")
    assert page.locator("#key-error").inner_text().startswith("Sign-in refused")
    page.fill("#key-input", keys["editor"])
    page.locator("#key-form button[type=submit]").click()
    page.wait_for_selector("body.ready #figures:not([hidden])")
    assert page.locator("h1").inner_text() == "Monitoring dashboard"
    _check_figures(page, "en")
    assert page.evaluate(_TABLE, "domains")["heads"][0] == "Human rights"
    assert page.evaluate(_TABLE, "months")["heads"][0] == "Apr 2026"
    assert page.locator("#sites-title").inner_text() == f"Sites by qualification on {_stands('en')}"
    assert page.evaluate("sessionStorage.getItem('geo-service.key')") == keys["editor"]
