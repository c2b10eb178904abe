"""The gate every request body passes before any endpoint: size, JSON syntax, depth, NUL bytes.

JSON bodies (features, analyses, layers, keys) are read whole here, up to a limit (413 beyond
it), and checked with a strict parser: NaN and Infinity, numbers beyond double range and lone
surrogates are not JSON (RFC 8259) and are refused, as are structures nested deeper than any
GeoJSON needs and the NUL character, which PostgreSQL cannot store in text. Each refusal is a
problem-details answer that says where, and nothing behind this gate ever sees the body.
A NUL in the path or query string is refused the same way. Multipart uploads keep their own
limit (io/upload.py), checked while they stream to disk.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson

from geo_service.api.errors import problem

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_WITH_BODY = {"POST", "PUT", "PATCH", "DELETE"}


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media in ("", "application/json", "text/json") or media.endswith("+json")


def check_json(body: bytes, max_depth: int) -> str | None:
    """Why `body` is not acceptable JSON, or None when it is."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return f"The body is not valid JSON: {exc}"
    # Iterative, so that no depth can overflow the interpreter's stack; arrays of numbers
    # (coordinates) are leaves and are not walked.
    stack: list[tuple[Any, int, str]] = [(document, 1, "$")]
    while stack:
        value, depth, where = stack.pop()
        if depth > max_depth:
            return f"The body nests deeper than {max_depth} levels (at {where[:200]})"
        if isinstance(value, str):
            if "\x00" in value:
                return (
                    f"Text at {where[:200]} holds a NUL character (\\u0000), which cannot be stored"
                )
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    return f"A member name in {where[:200]} holds a NUL character (\\u0000)"
                stack.append((item, depth + 1, f"{where}.{key[:40]}"))
        elif isinstance(value, list) and value and not isinstance(value[0], int | float):
            stack.extend((item, depth + 1, f"{where}[{i}]") for i, item in enumerate(value))
    return None


class BodyGuard:
    """ASGI middleware: refuse oversized, malformed or unstorable JSON bodies up front."""

    def __init__(self, app: ASGIApp, max_json_bytes: int, max_depth: int = 64) -> None:
        self.app = app
        self.max_json_bytes = max_json_bytes
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if "\x00" in path or b"\x00" in unquote_to_bytes(scope.get("query_string", b"")):
            await self._refuse(send, 400, "Invalid request", "The URL holds a NUL character", path)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        if scope.get("method") not in _WITH_BODY or not _is_json(content_type):
            await self.app(scope, receive, send)
            return
        limit = self.max_json_bytes
        too_large = (
            f"The JSON body exceeds the limit of {limit / 2**20:.3g} MiB; send large data as a "
            "file to /layers/{slug}/import"
        )
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(send, 413, "Body too large", too_large, path)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(send, 413, "Body too large", too_large, path)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body.strip():
            why = check_json(body, self.max_depth)
            if why is not None:
                await self._refuse(send, 400, "Malformed JSON", why, path)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(send: Send, status: int, title: str, detail: str, path: str) -> None:
        kind = "/problems/" + title.lower().replace(" ", "-")
        response = problem(status, title, detail, instance=path[:500], type_=kind)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(response.body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": response.body})
