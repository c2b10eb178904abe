"""The map page over HTTP: language choice, inlined messages, static files and their caching."""

from __future__ import annotations

import json
import re

from geo_service.analysis.messages import MESSAGES
from geo_service.api.web import WEB
from geo_service.problems import pick_language


def _config(html: str) -> dict:
    match = re.search(r'<script id="config" type="application/json">(.*?)</script>', html, re.S)
    assert match, "the page carries its configuration"
    return json.loads(match.group(1))


def test_pick_language_prefers_query_then_accept_language() -> None:
    assert pick_language("fr", "en-GB,en;q=0.9") == "fr"
    assert pick_language(None, "de-DE,fr;q=0.8,en;q=0.5") == "fr"
    assert pick_language(None, "en;q=0.2,fr-CA;q=0.9") == "fr"
    assert pick_language("xx", "de") == "en"
    assert pick_language(None, None) == "en"


def test_map_page_in_the_browser_language(client) -> None:
    page = client.get("/map", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    config = _config(page.text)
    assert config["lang"] == "fr"
    assert '<html lang="fr">' in page.text
    assert config["messages"]["tab.layers"] == "Couches"
    assert config["zone_transitions"]["draft"] == ["proposed", "retired"]
    english = _config(client.get("/map?lang=en", headers={"Accept-Language": "fr"}).text)
    assert english["lang"] == "en" and english["messages"]["tab.layers"] == "Layers"


def test_every_message_exists_in_both_languages() -> None:
    en = json.loads((WEB / "static/i18n/en.json").read_text(encoding="utf-8"))
    fr = json.loads((WEB / "static/i18n/fr.json").read_text(encoding="utf-8"))
    assert set(en) == set(fr)
    assert all(fr[key].strip() for key in fr)


def test_the_app_words_rules_as_the_server_does() -> None:
    """The map app renders rule reasons itself: its messages are the server's, key for key."""
    for lang, table in MESSAGES.items():
        web = json.loads((WEB / f"static/i18n/{lang}.json").read_text(encoding="utf-8"))
        reasons = {key for key in table if key.startswith("reason.")}
        assert reasons and sorted(reasons - set(web)) == []
        shared = set(table) & set(web)
        assert {k: web[k] for k in shared} == {k: table[k] for k in shared}


def test_every_key_used_by_the_app_has_a_message() -> None:
    en = json.loads((WEB / "static/i18n/en.json").read_text(encoding="utf-8"))
    sources = [
        *(WEB / "static/app").glob("*.js"),
        WEB / "templates/map.html",
        WEB / "embed/embed.js",
    ]
    used: set[str] = set()
    for path in sources:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'data-i18n(?:-placeholder|-title)?="([\w.]+)"', text))
        used |= set(re.findall(r'\bt\("([\w.]+)"', text))
    assert used, "the app uses messages"
    assert sorted(used - set(en)) == []


def test_vendor_and_versioned_files_cached_for_a_year_plain_app_files_revalidated(
    client, demo
) -> None:
    vendor = client.get("/static/vendor/leaflet/leaflet.js")
    assert vendor.status_code == 200
    assert "immutable" in vendor.headers["cache-control"]
    app = client.get("/static/app/main.js")
    assert app.status_code == 200
    assert app.headers["cache-control"] == "no-cache"
    again = client.get("/static/app/main.js", headers={"If-None-Match": app.headers["etag"]})
    assert again.status_code == 304
    # The pages name their files with the files' version: those are kept for a year.
    page = client.get("/map").text
    version = re.search(r'src="/static/app/main\.js\?v=([0-9a-f]{12})"', page).group(1)
    imports = json.loads(re.search(r'<script type="importmap">(.*?)</script>', page).group(1))
    modules = sorted(p.name for p in (WEB / "static/app").glob("*.js"))
    assert imports["imports"] == {
        f"/static/app/{name}": f"/static/app/{name}?v={version}" for name in modules
    }
    for url in (f"/static/app/main.js?v={version}", f"/static/i18n/fr.json?v={version}"):
        assert "immutable" in client.get(url).headers["cache-control"], url
    embed = client.get("/embed", params={"layers": "concessions"}).text
    assert f'src="/embed/assets/embed.js?v={version}"' in embed and "importmap" in embed
    script = client.get(f"/embed/assets/embed.js?v={version}")
    assert "immutable" in script.headers["cache-control"]
    assert client.get("/embed/assets/embed.js").headers["cache-control"] == "no-cache"


def test_static_files_compressed_and_confined(client) -> None:
    big = client.get(
        "/static/vendor/geoman/leaflet-geoman.min.js", headers={"Accept-Encoding": "gzip"}
    )
    assert big.headers["content-encoding"] == "gzip"
    assert client.get("/static/app/nothing-here.js").status_code == 404
    outside = client.get("/static/..%2F..%2Fpyproject.toml")
    assert outside.status_code == 404
    assert "problem+json" in outside.headers["content-type"]


def test_map_page_signs_in_with_a_key_not_a_user_name(client) -> None:
    html = client.get("/map").text
    assert 'id="user-name"' not in html
    assert re.search(r'<input id="auth-key" type="password" autocomplete="off"', html)
    app = [p for p in (WEB / "static/app").glob("*.js") if p.name != "field.js"]
    scripts = " ".join(p.read_text(encoding="utf-8") for p in app)
    assert "X-User" not in scripts and "localStorage" not in scripts
    # The field form keeps its queue of entries in localStorage (it must outlive the tab), but
    # the key only in the tab's sessionStorage, as the map does.
    field = (WEB / "static/app/field.js").read_text(encoding="utf-8")
    assert "localStorage.getItem(KEY)" not in field and "localStorage.setItem(KEY" not in field
    assert "sessionStorage.getItem(KEY)" in field
