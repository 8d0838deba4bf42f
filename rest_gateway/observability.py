"""Gateway metrics (Prometheus) and one log line per request, as an ASGI middleware."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imagescaler.runtime.buckets import LATENCY_BUCKETS
from imagescaler.runtime.request_context import current_request_id
from imagescaler.runtime.request_log import log_request

# Probes and scrapes arrive every few seconds: counted, but not logged.
UNLOGGED_ROUTES = frozenset({"/healthz", "/readyz"})
RATE_LIMITED_LOG_EVERY = 100


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "http_requests",
            "HTTP requests, by route template, method and status class",
            ["route", "method", "status_class"],
            registry=registry,
        )
        self.seconds = Histogram(
            "http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "http_requests_in_flight", "HTTP requests in progress", registry=registry
        )
        self.rate_limited = Counter(
            "gateway_rate_limited", "Requests refused by a rate limit", ["route"], registry=registry
        )
        self.auth_failures = Counter(
            "gateway_auth_failures",
            "Refused credentials and tokens, by reason",
            ["reason"],
            registry=registry,
        )


class ObservingMiddleware:
    """Counts, times and logs every HTTP request by its route template, never its raw path."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics
        self._rate_limited = 0  # refusals so far: logged one in RATE_LIMITED_LOG_EVERY

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        answer: dict[str, Any] = {"status": 500, "bytes_out": 0, "headers": {}}

        async def observing_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["headers"] = dict(message.get("headers", ()))
            elif message["type"] == "http.response.body":
                answer["bytes_out"] += len(message.get("body", b""))
            await send(message)

        self.metrics.in_flight.inc()
        started = time.perf_counter()
        try:
            await self.app(scope, receive, observing_send)
        finally:
            self.metrics.in_flight.dec()
            self._record(scope, answer, time.perf_counter() - started)

    def _record(self, scope: Scope, answer: dict[str, Any], seconds: float) -> None:
        route, method, status = route_template(scope), scope["method"], answer["status"]
        self.metrics.requests.labels(route, method, f"{status // 100}xx").inc()
        self.metrics.seconds.labels(route, method).observe(seconds)
        headers = answer["headers"]
        fields = {
            "request_id": current_request_id(),
            "route": route,
            "method": method,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
            "bytes_in": int(dict(scope["headers"]).get(b"content-length", b"0") or 0),
            "bytes_out": answer["bytes_out"],
        }
        if route in UNLOGGED_ROUTES:
            return
        if status == 429:
            # A client over its limit can send thousands a second: one line in a hundred,
            # with the count so far, tells the story without flooding the log.
            self._rate_limited += 1
            if self._rate_limited % RATE_LIMITED_LOG_EVERY != 1:
                return
            fields["rate_limited_so_far"] = self._rate_limited
        if b"x-image-width" in headers:
            fields["size_out"] = (
                f"{headers[b'x-image-width'].decode()}x{headers[b'x-image-height'].decode()}"
            )
        log_request(**fields)


def route_template(scope: Scope) -> str:
    """The matched route's template (`/v1/scale`), or `unmatched`: labels stay few."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    if scope.get("path", "").startswith("/static/"):
        return "/static"
    return "unmatched"
