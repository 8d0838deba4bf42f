"""Admission of request bodies by count and by bytes, decided before a byte is read.

Every body the gateway accepts is held in memory (and copied into the API call) until its
answer is sent, so the bodies in flight are what its memory follows. Over either limit, a
request is answered 503 `overloaded` with Retry-After at once, its body unread, instead of
being buffered behind hundreds of others. When the last body is done with, freed memory goes
back to the OS.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from imagescaler.runtime.memory_tuning import TrimWhenIdle
from rest_gateway.errors import RETRY_AFTER_SECONDS, GatewayError, error_response

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
MiB = 1024 * 1024


class UploadAdmission:
    """ASGI middleware: at most `max_uploads` bodies and `max_bytes` of them in flight. A body
    counts as its Content-Length, or as the largest body allowed when it declares none."""

    def __init__(self, app: ASGIApp, max_uploads: int, max_bytes: int, body_limit: int) -> None:
        self.app = app
        self.max_uploads = max_uploads
        self.max_bytes = max_bytes
        self.body_limit = body_limit
        self.uploads = 0
        self.bytes = 0
        self._trim = TrimWhenIdle()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        # BodySizeLimit, outside this, has answered 413 to anything declared over the limit.
        declared = dict(scope["headers"]).get(b"content-length", b"")
        size = int(declared) if declared.isdigit() else self.body_limit
        # One event loop runs this: the check and the reservation cannot interleave.
        if self.uploads >= self.max_uploads or self.bytes + size > self.max_bytes:
            await error_response(self._refusal())(scope, receive, send)
            return
        self.uploads += 1
        self.bytes += size
        self._trim.begin()
        try:
            await self.app(scope, receive, send)
        finally:
            self.uploads -= 1
            self.bytes -= size
            self._trim.end()

    def _refusal(self) -> GatewayError:
        return GatewayError(
            503,
            "overloaded",
            f"the gateway is receiving as many uploads as it may hold ({self.uploads} uploads, "
            f"{self.bytes / MiB:.0f} of {self.max_bytes / MiB:.0f} MiB); retry shortly",
            # Close: the unread body is not drained into this connection's next request.
            {"Retry-After": RETRY_AFTER_SECONDS, "Connection": "close"},
        )
