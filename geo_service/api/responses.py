"""Response classes: JSON through orjson (fast, handles dates), GeoJSON and problem details."""

from __future__ import annotations

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
