"""The gate every request body passes before any endpoint: size, JSON syntax, depth, NUL bytes.

JSON bodies (features, analyses, layers, keys) are read whole here, up to a limit (413 beyond
it), and checked with a strict parser: NaN and Infinity, numbers beyond double range and lone
surrogates are not JSON (RFC 8259) and are refused, as are structures nested deeper than any
GeoJSON needs and the NUL character, which PostgreSQL cannot store in text. Each refusal is a
problem-details answer that says where, and nothing behind this gate ever sees the body.
A NUL in the path or query string is refused the same way. Multipart uploads keep their own
limit (io/upload.py), checked while they stream to disk.

Every request also learns here the language its answers speak (api/errors.request_language):
the gate's own refusals are said in it, and behind the gate `problems.current_language()`
gives it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson

from geo_service.analysis.messages import Lang
from geo_service.api.errors import problem, request_language
from geo_service.problems import Message, known, msg, speaking

Scope = MutableMapping[str, Any]
Event = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Event]]
Send = Callable[[Event], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_WITH_BODY = {"POST", "PUT", "PATCH", "DELETE"}


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media in ("", "application/json", "text/json") or media.endswith("+json")


# What orjson says of broken JSON, when we can say it in French too.
_JSON_REASONS = {
    "unexpected end of data": msg("json.end_of_data"),
    "unexpected character": msg("json.unexpected_character"),
    "unexpected character, expected a JSON value": msg("json.expected_value"),
    "number is infinity when parsed as double": msg("json.infinity"),
    "trailing comma is not allowed": msg("json.trailing_comma"),
    "unexpected content after document": msg("json.after_document"),
    "no low surrogate in string": msg("json.no_low_surrogate"),
}


def check_json(body: bytes, max_depth: int) -> Message | None:
    """Why `body` is not acceptable JSON, or None when it is."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return msg(
            "guard.not_json",
            reason=known(exc.msg, _JSON_REASONS),
            line=exc.lineno,
            column=exc.colno,
            char=exc.pos,
        )
    # Iterative, so that no depth can overflow the interpreter's stack; arrays of numbers
    # (coordinates) are leaves and are not walked.
    stack: list[tuple[Any, int, str]] = [(document, 1, "$")]
    while stack:
        value, depth, where = stack.pop()
        if depth > max_depth:
            return msg("guard.too_deep", max_depth=max_depth, where=where[:200])
        if isinstance(value, str):
            if "\x00" in value:
                return msg("guard.nul_in_text", where=where[:200])
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    return msg("guard.nul_in_name", where=where[:200])
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
        lang = request_language(scope)
        with speaking(lang):
            await self._gate(scope, receive, send, lang)

    async def _gate(self, scope: Scope, receive: Receive, send: Send, lang: Lang) -> None:
        path = scope.get("path", "")

        async def refuse(status: int, kind: str, title: Message, detail: Message) -> None:
            response = problem(
                status, title, detail, instance=path[:500], type_=f"/problems/{kind}", lang=lang
            )
            await response(scope, receive, send)

        if "\x00" in path or b"\x00" in unquote_to_bytes(scope.get("query_string", b"")):
            await refuse(
                400, "invalid-request", msg("title.invalid_request"), msg("guard.nul_in_url")
            )
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        if scope.get("method") not in _WITH_BODY or not _is_json(content_type):
            await self.app(scope, receive, send)
            return
        limit = self.max_json_bytes
        too_large = msg("guard.too_large", limit_mb=limit / 2**20)
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await refuse(413, "body-too-large", msg("title.body_too_large"), too_large)
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
                await refuse(413, "body-too-large", msg("title.body_too_large"), too_large)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body.strip():
            why = check_json(body, self.max_depth)
            if why is not None:
                await refuse(400, "malformed-json", msg("title.malformed_json"), why)
                return
        replayed = False

        async def replay() -> Event:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class HeadAsGet:
    """HEAD answered as GET without the body (RFC 9110 9.3.2): the same status and headers, so
    that a client may ask a tile's or a file's ETag, type and length first (curl -I, link
    checkers, caches). FastAPI routes only the methods they declare, which left HEAD a 405."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Event) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
