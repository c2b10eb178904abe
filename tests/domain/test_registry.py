"""The kind registry: one declaration of each kind, served to the app as the pages inline it."""

from __future__ import annotations

import json
import re

from geo_service.domain import registry
from geo_service.domain.kinds import MODELS, Kind


def test_each_kinds_list_fields_are_its_models_lists() -> None:
    for kind, model in MODELS.items():
        lists = {
            name
            for name, schema in (model.model_json_schema()["properties"] if model else {}).items()
            if schema.get("type") == "array"
        }
        assert set(registry.KINDS[kind.value].list_fields) == lists, kind


def test_each_kinds_colours_cover_the_values_its_model_allows() -> None:
    for kind, spec in registry.KINDS.items():
        if spec.colour_by is None:
            continue
        model = MODELS[Kind(kind)]
        schema = model.model_json_schema()["properties"][spec.colour_by]
        allowed = next(s["enum"] for s in [schema, *schema.get("anyOf", [])] if "enum" in s)
        assert list(spec.colours) == allowed, kind


def test_the_registry_is_served_and_inlined_in_the_pages(client, demo) -> None:
    served = client.get("/kinds").json()
    assert served == registry.served()
    assert served["kinds"]["concession"]["fields"]["title_type"]["enum"][0] == "reconnaissance"
    for page in ("/map?lang=en", "/embed?layers=concessions"):
        html = client.get(page, headers={"Accept": "text/html"}).text
        inlined = re.search(r'<script id="registry" type="application/json">(.*?)</script>', html)
        assert inlined and json.loads(inlined.group(1)) == served, page
