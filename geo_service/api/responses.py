"""Response classes: JSON through orjson (fast, handles dates), GeoJSON and problem details."""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.responses import Response


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)


class GeoJSONResponse(JSONResponse):
    media_type = "application/geo+json"


class ProblemResponse(JSONResponse):
    media_type = "application/problem+json"

    def render(self, content: Any) -> bytes:
        # A problem may quote what the client sent, such as a number orjson cannot write
        # (beyond 64 bits): the standard library writes anything, as text if need be.
        try:
            return super().render(content)
        except TypeError:
            return json.dumps(content, default=str, ensure_ascii=False).encode()
