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
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        limit = self.body_limit(scope.get("path", ""))
        status_holder = {"status": 500}

        declared = headers.get(b"content-length")
        too_large = False
        if declared is not None:
            try:
                too_large = int(declared) > limit
            except ValueError:
                too_large = False

        received = 0
        body_done = False
        flags = {"disconnected": False, "complete": False}
        body_deadline = time.monotonic() + self.body_total_timeout

        async def bounded_receive() -> dict[str, Any]:
            nonlocal received, body_done
            if body_done:  # after the body, receive() only waits for a hang-up: no time bound
                message = await receive()
            else:
                wait = min(self.body_idle_timeout, body_deadline - time.monotonic())
                message = None
                with anyio.move_on_after(max(wait, 0.0)):
                    message = await receive()
                if message is None:
                    raise RequestTimeoutError(
                        f"the request body arrived too slowly (more than {self.body_idle_timeout:g} s between "
                        f"chunks or {self.body_total_timeout:g} s in all); send it at once and retry",
                        details={"idle_timeout_s": self.body_idle_timeout, "total_timeout_s": self.body_total_timeout},
                    )
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLargeError(
                        f"the request body exceeds the limit of {limit} bytes", details={"limit_bytes": limit}
                    )
                body_done = not message.get("more_body", False)
            elif message["type"] == "http.disconnect":
                flags["disconnected"] = True
            return message

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message.setdefault("headers", [])
                extra = [(b"x-request-id", request_id.encode("latin-1")), (b"x-content-type-options", b"nosniff")]
                if message["status"] == 408:
                    extra.append((b"connection", b"close"))
                if not any(k.lower() == b"cache-control" for k, _ in message["headers"]):
                    extra.append((b"cache-control", b"no-store"))  # police data: never kept by proxies
                message["headers"] = [*message["headers"], *extra]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                flags["complete"] = True
            await send(message)

        try:
            if too_large:
                await _reject_too_large(limit, request_id, send_with_id)
            else:
                await self.app(scope, bounded_receive, send_with_id)
        except ClientDisconnect:
            flags["disconnected"] = True  # nobody is left to answer; logged below as one line
        finally:
            state = scope.get("state", {})
            hung_up = flags["disconnected"] and not flags["complete"]
            if hung_up:
                status_holder["status"] = 499
            access_log.info(
                "client disconnected" if hung_up else "request",
                extra={
                    "fields": {
                        "request_id": request_id,
                        "method": scope.get("method"),
                        "path": scope.get("path"),
                        "status": status_holder["status"],
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
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
