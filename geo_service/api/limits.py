"""Rate limits on the expensive endpoints (analyses, imports, exports; zone screening apart, with
a higher limit, as the map screens while a planner draws): a token bucket per key,
or per client address for callers without a key, answered with 429 and Retry-After.

Buckets live in the process: with several workers each keeps its own, so the limit a client
meets is per worker (a shared store would be the next step behind a load balancer).

    >>> bucket = Buckets(per_minute=60, burst=2)
    >>> bucket.take("a", now=0.0), bucket.take("a", now=0.0), bucket.take("a", now=0.0)
    (0.0, 0.0, 1.0)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from geo_service.api.deps import get_principal
from geo_service.domain.access import Principal
from geo_service.errors import TooManyRequests
from geo_service.problems import msg
from geo_service.settings import RateLimitSettings

_MAX_CLIENTS = 100_000  # buckets kept before the full ones are forgotten


class Buckets:
    """Tokens per client: `burst` at most, refilled at `per_minute`."""

    def __init__(self, per_minute: float, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._tokens: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str, now: float | None = None) -> float:
        """Take a token: 0 when granted, else the seconds until one is there."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, since = self._tokens.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - since) * self.rate)
            if tokens >= 1.0:
                self._tokens[client] = (tokens - 1.0, now)
                self._forget_full(now)
                return 0.0
            self._tokens[client] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        if len(self._tokens) <= _MAX_CLIENTS:
            return
        full = [c for c, (t, s) in self._tokens.items() if t + (now - s) * self.rate >= self.burst]
        for client in full:
            del self._tokens[client]


# What each kind of endpoint is called in a refusal ("Too many analyses for this key").
_WHAT = {
    "analyses": msg("rate.analyses"),
    "screenings": msg("rate.screenings"),
    "imports": msg("rate.imports"),
    "exports": msg("rate.exports"),
}


class RateLimits:
    """The buckets of one app, by kind of endpoint."""

    def __init__(self, settings: RateLimitSettings) -> None:
        self.kinds = {
            "analyses": Buckets(settings.analyses_per_minute, settings.analyses_burst),
            "screenings": Buckets(settings.screenings_per_minute, settings.screenings_burst),
            "imports": Buckets(settings.imports_per_minute, settings.imports_burst),
            "exports": Buckets(settings.exports_per_minute, settings.exports_burst),
        }


def limited(kind: str) -> Callable[..., None]:
    """A dependency that spends one token of `kind` for the caller, or answers 429."""

    def dependency(request: Request, who: Annotated[Principal, Depends(get_principal)]) -> None:
        client = f"key:{who.name}" if who.authenticated else f"ip:{_address(request)}"
        wait = request.app.state.rate_limits.kinds[kind].take(client)
        if wait > 0:
            seconds = max(1, int(wait + 0.999))
            what = _WHAT[kind]
            raise TooManyRequests(
                msg("rate.key", what=what, seconds=seconds)
                if who.authenticated
                else msg("rate.address", what=what, seconds=seconds),
                where={"limit": kind},
                headers={"Retry-After": str(seconds)},
            )

    return dependency


def _address(request: Request) -> str:
    # Behind a proxy, uvicorn's --forwarded-allow-ips puts the real client here.
    return request.client.host if request.client else "unknown"


Analyses = Depends(limited("analyses"))
Screenings = Depends(limited("screenings"))
Imports = Depends(limited("imports"))
Exports = Depends(limited("exports"))
