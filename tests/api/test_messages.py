"""Problems speak the reader's language: French or English by `?lang=` or Accept-Language, from
the codes of the message catalogue (geo_service/problems.py), with `type`, `where` and `errors`
the same in both."""

from __future__ import annotations

import ast
import re
import socket
import string
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from geo_service import jobs, problems
from geo_service.analysis.messages import number
from geo_service.api.app import create_app
from geo_service.api.errors import _database_problem
from geo_service.domain.access import OPERATOR
from geo_service.errors import InvalidInput
from geo_service.problems import CATALOGUE, in_language, msg
from geo_service.settings import Settings
from geo_service.store import layers as store
from tests.conftest import bearer

PACKAGE = Path(__file__).resolve().parents[2] / "geo_service"
NBSP, NNBSP = "\u00a0", "\u202f"
FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}


def in_three_ways(request: Callable[..., Response], url: str, **kwargs) -> dict[str, Response]:
    """The same request in English, in French by Accept-Language, in French by ?lang=fr (over
    an English Accept-Language)."""
    headers = kwargs.pop("headers", {})
    joiner = "&" if "?" in url else "?"
    return {
        "en": request(url, headers={**headers, **ENGLISH}, **kwargs),
        "fr-header": request(url, headers={**headers, **FRENCH}, **kwargs),
        "fr-query": request(f"{url}{joiner}lang=fr", headers={**headers, **ENGLISH}, **kwargs),
    }


def check_alike(answers: dict[str, Response], status: int) -> tuple[dict, dict]:
    """The English and French problems, once checked to differ only in their words."""
    en, fr, fr_query = (answers[k] for k in ("en", "fr-header", "fr-query"))
    for answer, lang in ((en, "en"), (fr, "fr"), (fr_query, "fr")):
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["content-language"] == lang
    assert fr.json() == fr_query.json()
    english, french = en.json(), fr.json()
    for member in ("type", "status", "instance", "where"):
        assert english.get(member) == french.get(member), member
    assert [e.get("where") for e in english.get("errors", [])] == [
        e.get("where") for e in french.get("errors", [])
    ]
    return english, french


def _fragments(template: str) -> list[str]:
    """The literal text of a template, between its placeholders."""
    return [text for text, _, _, _ in string.Formatter().parse(template) if text]


# Pieces of English sentences of the catalogue long enough to be noticed in a French answer,
# leaving out those the French says too (`table`, EPSG:4326, Authorization: Bearer...).
FRENCH_TEXT = " ".join(CATALOGUE["fr"].values())
ENGLISH_PIECES = {
    piece.strip()
    for template in CATALOGUE["en"].values()
    for fragment in _fragments(template)
    for piece in re.split(r"[:;()'`]", fragment)
    if len(piece.strip()) >= 12 and piece.strip() not in FRENCH_TEXT
}


def no_english(problem: dict) -> None:
    said = " ".join(str(problem.get(m, "")) for m in ("title", "detail"))
    leaks = [piece for piece in ENGLISH_PIECES if piece in said]
    assert not leaks, (leaks, said)


# -- requests refused in both languages -----------------------------------------------------------


def test_a_broken_zip_is_refused_in_french(client: TestClient) -> None:
    upload = {"file": ("cadastre.zip", b"this is no zip archive at all")}
    answers = in_three_ways(client.post, "/layers/msg-broken/import", files=upload)
    english, french = check_alike(answers, 422)
    assert english["type"] == "/problems/broken-file"
    assert english["title"] == "The file cannot be read"
    assert english["detail"] == (
        "'cadastre.zip' is not a readable zip archive: no end of central directory"
    )
    assert french["title"] == "Fichier illisible"
    assert french["detail"] == (
        f"«{NBSP}cadastre.zip{NBSP}» n'est pas une archive zip lisible{NBSP}: la fin de son "
        "répertoire central est introuvable"
    )
    assert french["where"] == {"file": "cadastre.zip"}
    no_english(french)
    assert client.get("/layers/msg-broken").status_code == 404


def test_an_unknown_layer_in_french(client: TestClient) -> None:
    english, french = check_alike(in_three_ways(client.get, "/tiles/msg-nowhere/0/0/0.mvt"), 404)
    assert (english["title"], english["detail"]) == ("Unknown layer", "No layer named msg-nowhere")
    assert (french["title"], french["detail"]) == ("Couche inconnue", "Aucune couche nommée msg-nowhere")  # fmt: skip
    no_english(french)
    english, french = check_alike(in_three_ways(client.get, "/layers/msg-nowhere"), 404)
    assert english["detail"] == "No layer named 'msg-nowhere'"
    assert french["detail"] == f"Aucune couche nommée «{NBSP}msg-nowhere{NBSP}»"
    # Text that is no message of the catalogue is said as it is, in every language.
    assert in_language({"detail": "as it came"}, "fr") == {"detail": "as it came"}


def test_an_unknown_layer_on_items_in_french(client: TestClient) -> None:
    answers = in_three_ways(client.get, "/collections/msg-nowhere/items")
    english, french = check_alike(answers, 404)
    assert english["type"] == "/problems/unknown-layer"
    assert (english["title"], english["detail"]) == ("Unknown layer", "No layer named 'msg-nowhere'")  # fmt: skip
    assert french["title"] == "Couche inconnue"
    assert french["detail"] == f"Aucune couche nommée «{NBSP}msg-nowhere{NBSP}»"
    assert french["where"] == {"layer": "msg-nowhere"}
    no_english(french)


def test_lang_is_no_property_filter(client: TestClient, demo) -> None:
    """`?lang=` chooses the language of problems: items and exports are not filtered by it."""
    every = client.get("/collections/asm-zones/items").json()["numberMatched"]
    assert every > 0
    assert client.get("/collections/asm-zones/items?lang=fr").json()["numberMatched"] == every
    exported = client.get("/layers/asm-zones/export?format=geojson&lang=fr")
    assert exported.status_code == 200 and len(exported.json()["features"]) == every


def test_a_request_without_a_key_in_french(anon: TestClient) -> None:
    english, french = check_alike(in_three_ways(anon.get, "/keys"), 401)
    assert english["title"] == "Access key needed"
    assert french["title"] == "Clé d'accès requise"
    assert french["detail"] == (
        f"Une clé d'accès de rôle admin ou supérieur est nécessaire pour gérer les couches et les "
        f"clés{NBSP}: envoyez-la dans l'en-tête `Authorization: Bearer <clé>` ou `X-API-Key`"
    )
    assert french["where"] == {"role": "admin"}
    no_english(french)
    wrong = anon.get("/layers", headers={**FRENCH, **bearer("gs_not-a-key")})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Bearer")
    assert wrong.json()["detail"] == "La clé d'accès est inconnue ou a été révoquée"


def test_a_limit_out_of_range_in_french(client: TestClient) -> None:
    english, french = check_alike(in_three_ways(client.get, "/collections/msg-any/items?limit=0"), 422)  # fmt: skip
    assert english["errors"] == [
        {"where": "query.limit", "message": "Input should be greater than or equal to 1"}
    ]
    assert french["title"] == "Requête invalide"
    assert french["errors"] == [
        {"where": "query.limit", "message": "La valeur doit être supérieure ou égale à 1"}
    ]
    assert french["detail"] == f"query.limit{NBSP}: La valeur doit être supérieure ou égale à 1"
    no_english(french)
    words = client.get("/collections/msg-any/items?limit=beaucoup&lang=fr").json()
    assert words["errors"] == [{"where": "query.limit", "message": "Un nombre entier est attendu"}]


def test_a_malformed_json_body_in_french(client: TestClient) -> None:
    json_body = {"content": b'{"type": "Feature", ', "headers": {"content-type": "application/json"}}  # fmt: skip
    answers = in_three_ways(client.post, "/collections/msg-any/items", **json_body)
    english, french = check_alike(answers, 400)
    assert english["type"] == "/problems/malformed-json" and english["title"] == "Malformed JSON"
    assert english["detail"].startswith("The body is not valid JSON: unexpected end of data")
    assert french["title"] == "JSON mal formé"
    assert french["detail"] == (
        f"Le corps n'est pas du JSON valide{NBSP}: fin des données inattendue, ligne 1, "
        "colonne 21 (caractère 20)"
    )
    no_english(french)


@pytest.fixture(scope="module")
def limited(database_url: str) -> Iterator[TestClient]:
    settings = Settings()
    settings.rates.analyses_per_minute = 1
    settings.rates.analyses_burst = 1
    with TestClient(create_app(database_url, settings)) as client:
        yield client


def test_too_many_analyses_in_french(limited: TestClient, keys, demo) -> None:
    body = {"source": "asm-zones", "target": "concessions"}
    viewer = bearer(keys["viewer"])
    assert limited.post("/analysis/overlap", json=body, headers=viewer).status_code == 200
    post = lambda url, **kw: limited.post(url, json=body, **kw)  # noqa: E731
    english, french = check_alike(in_three_ways(post, "/analysis/overlap", headers=viewer), 429)
    assert english["title"] == "Too many requests"
    assert re.fullmatch(r"Too many analyses for this key; try again in \d+ s", english["detail"])
    assert french["title"] == "Trop de requêtes"
    assert re.fullmatch(
        rf"Trop d'analyses pour cette clé d'accès{NNBSP}; réessayez dans \d+ s", french["detail"]
    )
    assert french["where"] == {"limit": "analyses"}
    no_english(french)


def test_the_language_is_chosen_by_lang_then_accept_language(client: TestClient) -> None:
    def said(url: str, **headers: str) -> str:
        answer = client.get(url, headers=headers)
        assert (
            answer.json()["title"]
            == {"en": "Unknown layer", "fr": "Couche inconnue"}[answer.headers["content-language"]]
        )
        return answer.headers["content-language"]

    url = "/tiles/msg-nowhere/0/0/0.mvt"
    assert said(url) == "en"
    assert said(url, **{"Accept-Language": "de-DE,fr;q=0.8,en;q=0.5"}) == "fr"
    assert said(f"{url}?lang=en", **FRENCH) == "en"
    assert said(f"{url}?lang=de", **FRENCH) == "fr"  # a language we do not speak: the header
    assert client.get("/nowhere", headers=FRENCH).json()["detail"] == (
        "Aucune ressource à cette adresse"
    )


def test_database_failures_in_french() -> None:
    class Canceled(Exception):
        sqlstate = "57014"

    refusal = _database_problem(Canceled())
    assert refusal is not None
    assert in_language(refusal.detail, "fr") == (
        f"La base de données a mis trop de temps à répondre{NNBSP}; réessayez plus tard"
    )
    assert str(refusal) == "The database took too long to answer; try again later"


# -- features, zones and kinds ----------------------------------------------------------------------

# Far in the Ténéré, away from every demo and Natural Earth feature and from the zones of
# test_zone_safeguards.py: only a zone's own size counts in its screening.
LON, LAT = 12.5, 20.5


def _square(lon: float, lat: float, side: float) -> dict:
    ring = [[lon, lat], [lon + side, lat], [lon + side, lat + side], [lon, lat + side], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture(scope="module")
def kinds(engine) -> Iterator[dict[str, str]]:
    """A public layer of mine sites and one of ASM zones: {kind: slug}."""
    slugs = {"mine_site": f"msg-sites-{uuid.uuid4().hex[:6]}", "asm_zone": f"msg-zones-{uuid.uuid4().hex[:6]}"}  # fmt: skip
    with Session(engine) as s:
        for kind, slug in slugs.items():
            store.create_layer(s, slug, OPERATOR, kind=kind, visibility="public")
        s.commit()
    yield slugs
    with Session(engine) as s:
        for slug in slugs.values():
            store.delete_layer(s, slug, OPERATOR)
        s.commit()


def _zone(client: TestClient, slug: str, geometry: dict, *moves: str) -> tuple[str, int]:
    """A new ASM zone moved through `moves` (with a comment each): its URL and id."""
    made = client.post(
        f"/collections/{slug}/items",
        json={"type": "Feature", "geometry": geometry, "properties": {"code": "MSG-1"}},
    )
    assert made.status_code == 201, made.text
    url = f"/collections/{slug}/items/{made.json()['id']}"
    for status in moves:
        moved = client.patch(url, json={"properties": {"status": status}, "comment": "next"})
        assert moved.status_code == 200, moved.text
    return url, made.json()["id"]


def test_a_stale_if_match_in_french(client: TestClient, kinds) -> None:
    url, zone = _zone(client, kinds["asm_zone"], _square(LON + 1, LAT, 0.001))
    answers = in_three_ways(
        client.patch, url, json={"properties": {"name": "Kouré"}}, headers={"If-Match": '"99"'}
    )
    english, french = check_alike(answers, 412)
    assert english["title"] == "Precondition failed"
    assert english["detail"] == (
        f"Feature {zone} is at version 1, not 99: someone else changed it since you read it; "
        "reload it and make your change again"
    )
    assert french["title"] == "Condition préalable non remplie"
    assert french["detail"] == (
        f"L'entité {zone} est à la version 1, pas 99{NBSP}: quelqu'un l'a modifiée depuis que "
        f"vous l'avez lue{NNBSP}; rechargez-la et refaites votre modification"
    )
    assert french["current_version"] == english["current_version"] == 1
    assert answers["fr-header"].headers["etag"] == '"1"'
    no_english(french)


def test_a_zone_moved_without_a_comment_in_french(client: TestClient, kinds) -> None:
    url, _ = _zone(client, kinds["asm_zone"], _square(LON + 2, LAT, 0.001))
    answers = in_three_ways(client.patch, url, json={"properties": {"status": "proposed"}})
    english, french = check_alike(answers, 400)
    assert english["detail"] == (
        "Moving an ASM zone from 'draft' to 'proposed' needs a comment saying why "
        '(a "comment" member beside "properties")'
    )
    assert french["title"] == "Données invalides"
    assert french["detail"] == (
        f"Faire passer une zone d'orpaillage de «{NBSP}draft{NBSP}» à «{NBSP}proposed{NBSP}» "
        'demande un commentaire qui dit pourquoi (un membre "comment" à côté de "properties")'
    )
    assert french["where"] == {"layer": kinds["asm_zone"], "id": int(url.rsplit("/", 1)[1]), "field": "comment"}  # fmt: skip
    no_english(french)


def test_gazetting_a_zone_that_fails_a_rule_in_french(client: TestClient, kinds) -> None:
    url, zone = _zone(client, kinds["asm_zone"], _square(LON, LAT, 0.03), "proposed", "in_consultation")  # fmt: skip
    decree = "Arrêté 2026-031"
    body = {"properties": {"status": "gazetted", "decree_ref": decree}, "comment": decree}
    english, french = check_alike(in_three_ways(client.patch, url, json=body), 409)
    ((en_rule,), (fr_rule,)) = english["rules"], french["rules"]
    assert en_rule["id"] == fr_rule["id"] == "max_area"
    assert en_rule["params"] == fr_rule["params"]
    area, most = en_rule["params"]["area_ha"], en_rule["params"]["max_ha"]
    en_reason = f"Zone is {number(area, 2, 'en')} ha; over {number(most, 2, 'en')} ha"
    fr_reason = (
        f"Superficie de la zone : {number(area, 2, 'fr')} ha, au-delà de la limite de "
        f"{number(most, 2, 'fr')} ha"
    )
    assert (en_rule["reason"], fr_rule["reason"]) == (en_reason, fr_reason)
    assert english["title"] == "Conflict"
    assert english["detail"] == (
        f"ASM zone {zone} fails 1 screening rule and is not gazetted: {en_reason}. To gazette "
        'it all the same, say why in an "override" member: {"override": {"reason": "..."}} '
        "(kept in its history)"
    )
    assert french["title"] == "Conflit"
    assert french["detail"] == (
        f"La zone d'orpaillage {zone} ne respecte pas une règle de vérification et n'est pas "
        f"classée{NBSP}: {fr_reason}. Pour la classer malgré tout, dites pourquoi dans un "
        f'membre "override"{NBSP}: {{"override": {{"reason": "…"}}}} (conservé dans son '
        "historique)"
    )
    no_english(french)
    assert client.get(url).json()["properties"]["status"] == "in_consultation"


def test_an_unknown_kind_on_import_in_french(client: TestClient) -> None:
    point = b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [-8.4, 12.1]}}]}'  # fmt: skip
    answers = in_three_ways(
        client.post,
        "/layers/msg-volcanoes/import",
        files={"file": ("volcans.geojson", point)},
        data={"kind": "volcano"},
    )
    english, french = check_alike(answers, 422)
    kinds = (
        "mine_site, concession, tailings_facility, abandoned_mine, asm_zone, asm_permit, "
        "trade_point, trade_route, reference"
    )
    assert english["type"] == "/problems/invalid-attributes"
    assert english["detail"] == f"Unknown kind 'volcano'; known kinds: {kinds}"
    assert french["title"] == "Attributs non conformes au type de la couche"
    assert french["detail"] == (
        f"Type «{NBSP}volcano{NBSP}» inconnu{NNBSP}; types connus{NBSP}: {kinds}"
    )
    no_english(french)
    assert client.get("/layers/msg-volcanoes").status_code == 404


def test_attributes_that_do_not_fit_the_kind_in_french(client: TestClient, kinds) -> None:
    site = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [LON, LAT]},
        "properties": {"name": "Kouré", "workers": 12, "women_workers": 30},
    }
    answers = in_three_ways(client.post, f"/collections/{kinds['mine_site']}/items", json=site)
    english, french = check_alike(answers, 422)
    assert english["title"] == "Attributes do not fit the layer's kind"
    assert english["detail"] == "Attributes do not fit kind 'mine_site': women_workers cannot exceed workers"  # fmt: skip
    assert english["errors"] == [
        {"field": "(feature)", "message": "women_workers cannot exceed workers", "value": None}
    ]
    assert french["title"] == "Attributs non conformes au type de la couche"
    assert french["detail"] == (
        f"Les attributs ne conviennent pas au type «{NBSP}mine_site{NBSP}»{NBSP}: "
        "women_workers ne peut dépasser workers"
    )
    assert french["errors"] == [
        {"field": "(feature)", "message": "women_workers ne peut dépasser workers", "value": None}
    ]
    no_english(french)
    # A field of its own is named before what is wrong with it, in each language.
    site["properties"] = {"workers": "beaucoup"}
    english, french = check_alike(in_three_ways(client.post, f"/collections/{kinds['mine_site']}/items", json=site), 422)  # fmt: skip
    assert english["detail"] == (
        "Attributes do not fit kind 'mine_site': workers: Input should be a valid integer, "
        "unable to parse string as an integer"
    )
    assert french["detail"] == (
        f"Les attributs ne conviennent pas au type «{NBSP}mine_site{NBSP}»{NBSP}: "
        f"workers{NBSP}: Un nombre entier est attendu"
    )


def test_health_says_why_in_french() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    with TestClient(create_app(f"postgresql+psycopg://nobody:x@127.0.0.1:{port}/none")) as c:
        english, french = (c.get("/health", headers=h) for h in (ENGLISH, FRENCH))
    assert english.status_code == french.status_code == 503
    assert english.json()["detail"] == f"the database at 127.0.0.1:{port} refuses connections"
    assert french.json()["detail"] == (
        f"la base de données à l'adresse 127.0.0.1:{port} refuse les connexions"
    )
    assert french.headers["content-language"] == "fr"


# -- jobs -------------------------------------------------------------------------------------------


def _finished(client: TestClient, job_id: str, **headers: str) -> dict:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        body = client.get(f"/jobs/{job_id}", headers=headers).json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError("the job did not finish")


def test_a_failed_job_reads_in_the_readers_language(client: TestClient, engine) -> None:
    def work(report):
        raise InvalidInput(msg("select.datetime", value="hier"), where={"datetime": "hier"})

    job_id = jobs.submit(engine, "test", work, owner=OPERATOR)
    english = _finished(client, job_id, **ENGLISH)["error"]
    french = _finished(client, job_id, **FRENCH)["error"]
    assert english == {
        "title": "Invalid input",
        "detail": "datetime 'hier' is not RFC 3339 (2024-05-01 or 2024-05-01T12:00:00Z)",
        "where": {"datetime": "hier"},
        "errors": [],
    }
    assert french == {
        "title": "Données invalides",
        "detail": f"datetime «{NBSP}hier{NBSP}» n'est pas au format RFC 3339 (2024-05-01 ou "
        "2024-05-01T12:00:00Z)",
        "where": {"datetime": "hier"},
        "errors": [],
    }
    assert client.get(f"/jobs/{job_id}?lang=fr").json()["error"] == french


def test_a_failed_import_job_reads_in_french(client: TestClient) -> None:
    upload = {"file": ("titres.zip", b"PK\x03\x04 cut short")}
    started = client.post("/layers/msg-job/import?async=true", files=upload)
    assert started.status_code == 202, started.text
    failed = _finished(client, started.json()["job"], **FRENCH)
    assert failed["status"] == "failed"
    assert failed["error"]["title"] == "Fichier illisible"
    assert failed["error"]["detail"].startswith(f"«{NBSP}titres.zip{NBSP}» n'est pas une archive")
    no_english(failed["error"])


# -- the catalogue ----------------------------------------------------------------------------------


def _placeholders(template: str) -> set[tuple[str, str, str | None]]:
    return {(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(template) if name is not None}  # fmt: skip


def _msg_calls() -> Iterator[tuple[str, ast.Call]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name == "msg":
                    yield f"{path.relative_to(PACKAGE.parent)}:{node.lineno}", node


def test_both_languages_have_the_same_codes_and_placeholders() -> None:
    assert CATALOGUE["en"].keys() == CATALOGUE["fr"].keys()
    for code, english in CATALOGUE["en"].items():
        assert _placeholders(CATALOGUE["fr"][code]) == _placeholders(english), code


def test_every_code_used_is_in_the_catalogue_with_its_parameters() -> None:
    calls = list(_msg_calls())
    assert len(calls) > 100  # the walk finds them
    for where, call in calls:
        assert call.args and isinstance(call.args[0], ast.Constant), f"{where}: a literal code"
        code = call.args[0].value
        assert code in CATALOGUE["en"] and code in CATALOGUE["fr"], f"{where}: {code}"
        if any(k.arg is None for k in call.keywords):
            continue  # **params: checked when said
        given = {k.arg for k in call.keywords}
        variants = [CATALOGUE["en"][c] for c in (code, f"{code}_one") if c in CATALOGUE["en"]]
        wanted = set().union(*({n for n, _, _ in _placeholders(t)} for t in variants))
        assert given == wanted, f"{where}: {code} takes {sorted(wanted)}, not {sorted(given)}"


def test_french_typography() -> None:
    french = msg("key.unknown_role", role="chef", roles="viewer, editor, admin").speak("fr")
    assert french == f"Rôle «{NBSP}chef{NBSP}» inconnu{NNBSP}; rôles{NBSP}: viewer, editor, admin"
    # Numbers as fr-FR writes them, parameters that are messages said in the same language.
    listed = msg("list.more", items="a.shp, b.shp", more=1250)
    bomb = msg("zip.no_shapefile", file="x.zip", members=listed)
    assert bomb.speak("fr").endswith(f"contient{NBSP}: a.shp, b.shp et 1{NNBSP}250 autres")
    assert str(bomb).endswith("it holds: a.shp, b.shp and 1,250 more")
    assert problems.unpack(problems.pack({"detail": bomb}))["detail"].speak("fr") == bomb.speak("fr")  # fmt: skip


# Command-line only: what they raise is read in a terminal, in English.
ENGLISH_ONLY = {"backup.py", "cli.py", "db/local.py"}


def _error_classes(trees: list[ast.Module]) -> set[str]:
    """GeoServiceError and the names of every class of the package below it."""
    classes = [node for tree in trees for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    names = {"GeoServiceError"}
    while True:
        below = {
            c.name
            for c in classes
            if any((getattr(b, "id", None) or getattr(b, "attr", None)) in names for b in c.bases)
        }
        if below <= names:
            return names
        names |= below


def _is_text(node: ast.expr) -> bool:
    """A string literal or f-string, or text made from one ("..." + x, "...".format(x))."""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.BinOp):
        return _is_text(node.left) or _is_text(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return _is_text(node.func.value)
    return False


def test_every_error_raised_is_a_message() -> None:
    """What a user can cause is said in their language: no error of the domain is raised with
    English text of its own (a literal, an f-string), only with a message of the catalogue."""
    paths = sorted(PACKAGE.rglob("*.py"))
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in paths}
    classes = _error_classes(list(trees.values()))
    assert {"InvalidInput", "UnknownLayer", "PreconditionFailed"} <= classes  # the walk finds them
    plain = []
    for path, tree in trees.items():
        if path.relative_to(PACKAGE).as_posix() in ENGLISH_ONLY:
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            call = node.exc
            name = getattr(call.func, "id", None) or getattr(call.func, "attr", None)
            detail = (
                call.args[0]
                if call.args
                else next((k.value for k in call.keywords if k.arg == "detail"), None)
            )
            if name in classes and detail is not None and _is_text(detail):
                plain.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert not plain, plain
