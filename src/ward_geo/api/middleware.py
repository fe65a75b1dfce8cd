"""ASGI middleware: request ids, structured JSON request logs and body size bounds.

Each request gets an id (the client's ``X-Request-ID`` when it is a short token of
letters, digits, ``.``, ``_`` and ``-``; otherwise a fresh one), echoed in the response
header ``X-Request-ID`` and written, with method, path, status, duration and key id, as
one JSON line on the ``ward_geo.api.access`` logger.

Request bodies are bounded while they stream in: a declared ``Content-Length`` above the
bound is refused before reading anything, and a body that grows beyond it raises
:class:`~ward_geo.errors.PayloadTooLargeError` from ``receive`` (answered 413 by the
exception handler), so no request can make the service buffer an unbounded body.

Request bodies are also bounded in time: the wait for each next chunk is at most
``body_idle_timeout`` seconds and the whole body must arrive within ``body_total_timeout``
seconds of the request's start; a slower client gets 408 ``request_timeout`` and the
connection is closed (a slow-body client cannot hold a connection and a worker forever).

A client that hangs up before its response is complete is logged as one access line with
the message ``client disconnected`` and status 499 — not as a 500 with a stack trace.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import anyio
from starlette.requests import ClientDisconnect

from ward_geo.errors import PayloadTooLargeError, RequestTimeoutError

__all__ = ["RequestContextMiddleware", "JsonLogFormatter", "configure_logging"]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")
access_log = logging.getLogger("ward_geo.api.access")


class JsonLogFormatter(logging.Formatter):
    """Format records as one JSON object per line (extra fields in ``record.fields``)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one JSON line."""
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "info") -> None:
    """Send ``ward_geo`` logs to stderr as JSON lines (idempotent)."""
    logger = logging.getLogger("ward_geo")
    logger.setLevel(level.upper())
    if not any(isinstance(h.formatter, JsonLogFormatter) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonLogFormatter())
        logger.addHandler(handler)
    logger.propagate = False


class RequestContextMiddleware:
    """Request id, access log and streaming body bound (pure ASGI, no buffering).

    Parameters
    ----------
    app : ASGI app
    body_limit : callable
        ``body_limit(path) -> int``: the largest body accepted for a path.
    body_idle_timeout : float, default 30
        Seconds to wait for the next chunk of a request body.
    body_total_timeout : float, default 600
        Seconds from the request's start to the end of its body.
    """

    def __init__(
        self,
        app: Any,
        body_limit: Callable[[str], int],
        body_idle_timeout: float = 30.0,
        body_total_timeout: float = 600.0,
    ) -> None:
        self.app = app
        self.body_limit = body_limit
        self.body_idle_timeout = float(body_idle_timeout)
        self.body_total_timeout = float(body_total_timeout)

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        """Serve one ASGI exchange with a request id, body bounds and one access-log line."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        exchange = _Exchange(self, request_id, self.body_limit(scope.get("path", "")), receive, send)
        try:
            if _declared_too_large(headers, exchange.limit):
                await _reject_too_large(exchange.limit, request_id, exchange.send)
            else:
                await self.app(scope, exchange.receive, exchange.send)
        except ClientDisconnect:
            exchange.disconnected = True  # nobody is left to answer; logged below as one line
        finally:
            exchange.log(scope)


def _declared_too_large(headers: dict[bytes, bytes], limit: int) -> bool:
    declared = headers.get(b"content-length")
    if declared is None:
        return False
    try:
        return int(declared) > limit
    except ValueError:
        return False


class _Exchange:
    """One request's body accounting, response headers and access-log fields."""

    def __init__(self, owner: RequestContextMiddleware, request_id: str, limit: int,
                 receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        self.idle_timeout = owner.body_idle_timeout
        self.total_timeout = owner.body_total_timeout
        self.request_id = request_id
        self.limit = limit
        self._receive = receive
        self._send = send
        self.started = time.perf_counter()
        self.deadline = time.monotonic() + owner.body_total_timeout
        self.received = 0
        self.body_done = False
        self.disconnected = False
        self.complete = False
        self.status = 500

    async def _next_body_message(self) -> dict[str, Any]:
        wait = min(self.idle_timeout, self.deadline - time.monotonic())
        message: dict[str, Any] | None = None
        with anyio.move_on_after(max(wait, 0.0)):
            message = await self._receive()
        if message is None:
            raise RequestTimeoutError(
                f"the request body arrived too slowly (more than {self.idle_timeout:g} s between "
                f"chunks or {self.total_timeout:g} s in all); send it at once and retry",
                details={"idle_timeout_s": self.idle_timeout, "total_timeout_s": self.total_timeout},
            )
        return message

    async def receive(self) -> dict[str, Any]:
        """The app's ``receive``: body chunks within the size and time bounds."""
        if self.body_done:  # after the body, receive() only waits for a hang-up: no time bound
            message: dict[str, Any] = await self._receive()
        else:
            message = await self._next_body_message()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                raise PayloadTooLargeError(
                    f"the request body exceeds the limit of {self.limit} bytes", details={"limit_bytes": self.limit}
                )
            self.body_done = not message.get("more_body", False)
        elif message["type"] == "http.disconnect":
            self.disconnected = True
        return message

    async def send(self, message: dict[str, Any]) -> None:
        """The app's ``send``: adds the request id and the no-store / nosniff headers."""
        if message["type"] == "http.response.start":
            self.status = message["status"]
            message.setdefault("headers", [])
            extra = [(b"x-request-id", self.request_id.encode("latin-1")), (b"x-content-type-options", b"nosniff")]
            if message["status"] == 408:
                extra.append((b"connection", b"close"))
            if not any(k.lower() == b"cache-control" for k, _ in message["headers"]):
                extra.append((b"cache-control", b"no-store"))  # police data: never kept by proxies
            message["headers"] = [*message["headers"], *extra]
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self.complete = True
        await self._send(message)

    def log(self, scope: dict[str, Any]) -> None:
        """One access-log line (status 499 when the client hung up before the answer)."""
        state = scope.get("state", {})
        hung_up = self.disconnected and not self.complete
        access_log.info(
            "client disconnected" if hung_up else "request",
            extra={
                "fields": {
                    "request_id": self.request_id,
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": 499 if hung_up else self.status,
                    "duration_ms": round((time.perf_counter() - self.started) * 1000, 2),
                    "key_id": state.get("key_id"),
                    "client": (scope.get("client") or [None])[0],
                }
            },
        )


async def _reject_too_large(limit: int, request_id: str, send: Callable[..., Any]) -> None:
    error = PayloadTooLargeError(
        f"the request body exceeds the limit of {limit} bytes", details={"limit_bytes": limit}
    )
    body = json.dumps({**error.to_dict(), "request_id": request_id}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})
