"""The fast path of cached hotspot answers: a pure ASGI middleware in front of routing.

``GET /wards/{ward_id}/hotspots`` answers that are cached and current are sent from here
without FastAPI's routing, dependency injection and parameter validation. The route
registers, for each answer it served, the raw query string, the ward and the caller's view
(aggregate or full) it belongs to (:meth:`HotPath.remember`); the fast path then:

1. authenticates the key exactly as the route does (:meth:`KeyStore.verify`); a missing,
   unknown or revoked key goes on to the route, which answers 401/403;
2. finds the cache entry of (ward, query string, view) and its data token; when the token
   is not known for the current data generation (checked at most every
   ``WARD_GEO_VERSION_CHECK_S``; the embedded store's generation is read here) or the
   entry is stale, the request goes on to the route, except while the route has marked the
   stale answer as servable (a refresh of it runs, or waits for ``WARD_GEO_REFRESH_INTERVAL_S``;
   sent with ``X-Data-Freshness: stale``);
3. sends the stored bytes with the route's headers (``ETag``, ``Cache-Control: private,
   no-cache``, ``X-Data-Freshness``, ``X-Parameters-Clamped``), or 304 for a
   matching ``If-None-Match``.

Anything it does not recognise goes to the application unchanged.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from ward_geo.api.keys import role_allows
from ward_geo.errors import WardGeoError

__all__ = ["HotPath", "HotPathMiddleware", "entity_tag"]

_PATH = re.compile(r"^/wards/([a-z0-9][a-z0-9\-]{0,99})/hotspots$")


def entity_tag(body: bytes) -> str:
    """The strong ETag of a response body."""
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def matches(if_none_match: str, tag: str) -> bool:
    """True when an ``If-None-Match`` value names ``tag`` (or ``*``)."""
    given = if_none_match.strip()
    return given == "*" or tag in {t.strip().removeprefix("W/") for t in given.split(",")}


@dataclass(frozen=True)
class Route:
    """What the route answered a (ward, query string, view) with."""

    logical: Hashable
    scope: Hashable
    extra_headers: tuple[tuple[bytes, bytes], ...]


class HotPath:
    """Index from raw requests to cache entries (bounded, least recently used dropped)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = max(0, maxsize)
        self._routes: OrderedDict[tuple[str, bytes, bool], Route] = OrderedDict()
        self._tags: dict[int, tuple[bytes, str]] = {}
        self._lock = threading.Lock()
        self.served = 0

    def remember(self, ward_id: str, query_string: bytes, aggregate: bool, logical: Hashable, scope: Hashable,
                 headers: dict[str, str]) -> None:
        """Record that this request is answered by cache entry ``logical`` of data ``scope``."""
        if self.maxsize == 0:
            return
        extra = tuple((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())
        with self._lock:
            self._routes[(ward_id, query_string, aggregate)] = Route(logical, scope, extra)
            self._routes.move_to_end((ward_id, query_string, aggregate))
            while len(self._routes) > self.maxsize:
                self._routes.popitem(last=False)

    def route(self, ward_id: str, query_string: bytes, aggregate: bool) -> Route | None:
        """The remembered route of this exact request, if any."""
        return self._routes.get((ward_id, query_string, aggregate))

    def tag(self, body: bytes) -> str:
        """ETag of ``body``, computed once per cached body."""
        known = self._tags.get(id(body))
        if known is not None and known[0] is body:
            return known[1]
        tag = entity_tag(body)
        with self._lock:
            if len(self._tags) > 4 * max(self.maxsize, 1):
                self._tags.clear()
            self._tags[id(body)] = (body, tag)
        return tag


def _presented_key(headers: list[tuple[bytes, bytes]]) -> str | None:
    api_key = None
    bearer = None
    for name, value in headers:
        if name == b"x-api-key":
            api_key = value.decode("latin-1")
        elif name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                bearer = credentials.strip()
    return (api_key or bearer or "").strip() or None


class HotPathMiddleware:
    """Serve current cached hotspot answers before routing (see the module notes).

    Parameters
    ----------
    app : ASGI app
    get_state : callable
        ``() -> ServiceState`` of the application.
    """

    def __init__(self, app: Any, get_state: Callable[[], Any]) -> None:
        self.app = app
        self.get_state = get_state

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        """Answer a remembered GET from the cache, else pass the request on."""
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        match = _PATH.match(scope["path"])
        if match is None or not await self._serve(scope, match.group(1), send):
            await self.app(scope, receive, send)

    async def _serve(self, scope: dict[str, Any], ward_id: str, send: Callable[..., Any]) -> bool:
        state = self.get_state()
        headers = scope.get("headers") or []
        presented = _presented_key(headers)
        if presented is None:
            return False
        try:
            key = state.keys.verify(presented)
        except WardGeoError:
            return False  # the route answers with the one error message for bad keys
        if not role_allows(key.role, "viewer"):
            return False
        aggregate = not role_allows(key.role, "analyst")
        route = state.hotpath.route(ward_id, scope.get("query_string", b""), aggregate)
        if route is None:
            return False
        token = state.versions.cached_scope(route.scope)
        if token is None and getattr(state.stores.get(), "backend", "") == "sqlite":
            try:  # the embedded store's generation is a single-row read: done here, as the route does
                state.versions.generation()
            except WardGeoError:
                return False
            token = state.versions.cached_scope(route.scope)
        entry = state.hotspots.get(route.logical) if token is not None else None
        if entry is None:
            return False
        freshness = b"fresh"
        if entry[0] != token:  # stale: served here only while the route said so (a refresh runs or waits)
            stale = state.stale_until.get(route.logical)
            if stale is None or stale[0] != token or time.monotonic() >= stale[1]:
                return False
            freshness = b"stale"
        body: bytes = entry[1]
        tag = state.hotpath.tag(body)
        scope.setdefault("state", {})["key_id"] = key.key_id
        out = [
            (b"etag", tag.encode("latin-1")),
            (b"cache-control", b"private, no-cache"),
            *route.extra_headers,
            (b"x-data-freshness", freshness),
        ]
        given = next((v.decode("latin-1") for k, v in headers if k == b"if-none-match"), None)
        state.hotpath.served += 1
        if given is not None and matches(given, tag):
            await send({"type": "http.response.start", "status": 304, "headers": out})
            await send({"type": "http.response.body", "body": b""})
            return True
        out = [(b"content-length", str(len(body)).encode("latin-1")), (b"content-type", b"application/geo+json"), *out]
        await send({"type": "http.response.start", "status": 200, "headers": out})
        await send({"type": "http.response.body", "body": body})
        return True
