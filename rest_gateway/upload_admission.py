"""Admission of uploads by count, by bytes and by client address, decided before a byte is
read.

Every upload the gateway accepts is held in memory (and copied into the API call) until its
answer is sent, so the uploads in flight are what its memory follows. Over the total count or
bytes, a request is answered 503 `overloaded` with Retry-After at once, its body unread,
instead of being buffered behind hundreds of others; one address over its own share gets 429
`too_many_uploads`, so that a few slow clients cannot hold every slot. Only the routes that
take images are uploads: any other body (the token form, an unknown path) is a small form,
which BodySizeLimit caps at a few KiB and seconds and which holds no upload slot. When the last
upload is done with, freed memory goes back to the OS.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from imagescaler.runtime.memory_tuning import TrimWhenIdle
from rest_gateway.errors import RETRY_AFTER_SECONDS, GatewayError, error_response

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# The routes whose bodies are images (a test holds this to the app's routes).
UPLOAD_PATHS = frozenset({"/v1/scale", "/v1/preprocess", "/v1/inspect"})
MiB = 1024 * 1024


def is_upload(scope: Scope) -> bool:
    return scope["method"] in BODY_METHODS and scope["path"] in UPLOAD_PATHS


class UploadAdmission:
    """ASGI middleware: at most `max_uploads` uploads and `max_bytes` of them in flight, and
    `per_address` from one client address. An upload counts as its Content-Length, or as the
    largest body allowed when it declares none."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_uploads: int,
        max_bytes: int,
        body_limit: int,
        per_address: int,
        client_address: Callable[[Request], str],
    ) -> None:
        self.app = app
        self.max_uploads = max_uploads
        self.max_bytes = max_bytes
        self.body_limit = body_limit
        self.per_address = per_address
        self.client_address = client_address
        self.uploads = 0
        self.bytes = 0
        self.by_address: Counter[str] = Counter()
        self._trim = TrimWhenIdle()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_upload(scope):
            await self.app(scope, receive, send)
            return
        # BodySizeLimit, outside this, has answered 413 to anything declared over the limit.
        declared = dict(scope["headers"]).get(b"content-length", b"")
        size = int(declared) if declared.isdigit() else self.body_limit
        address = self.client_address(Request(scope))
        # One event loop runs this: the checks and the reservation cannot interleave.
        refusal = self._refusal(size, address)
        if refusal is not None:
            await error_response(refusal)(scope, receive, send)
            return
        self.uploads += 1
        self.bytes += size
        self.by_address[address] += 1
        self._trim.begin()
        try:
            await self.app(scope, receive, send)
        finally:
            self.uploads -= 1
            self.bytes -= size
            self.by_address[address] -= 1
            if not self.by_address[address]:
                del self.by_address[address]
            self._trim.end()

    def _refusal(self, size: int, address: str) -> GatewayError | None:
        # Close: the unread body is not drained into this connection's next request.
        headers = {"Retry-After": RETRY_AFTER_SECONDS, "Connection": "close"}
        if self.by_address[address] >= self.per_address:
            return GatewayError(
                429,
                "too_many_uploads",
                f"this address is already sending {self.by_address[address]} uploads, as many "
                "as one address may at once; send the next when one is answered",
                headers,
            )
        if self.uploads >= self.max_uploads or self.bytes + size > self.max_bytes:
            return GatewayError(
                503,
                "overloaded",
                f"the gateway is receiving as many uploads as it may hold ({self.uploads} "
                f"uploads, {self.bytes / MiB:.0f} of {self.max_bytes / MiB:.0f} MiB); retry "
                "shortly",
                headers,
            )
        return None
