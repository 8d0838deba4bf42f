"""Refuse request bodies over the limit while they arrive, never buffering past it, and
bodies that arrive too slowly. Uploads (the routes that take images) may be as large as an
image and take `timeout`; any other body is a small form (the token request's few fields), held
to FORM_LIMIT bytes and FORM_TIMEOUT seconds, so that it cannot hold a connection for long."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rest_gateway.errors import GatewayError, error_response
from rest_gateway.upload_admission import is_upload

FORM_LIMIT = 16 * 1024  # a username and a password, with room
FORM_TIMEOUT = 5.0


def too_large(stated_limit: int) -> GatewayError:
    # Connection: close makes the server drop the connection instead of reading the rest.
    return GatewayError(
        413,
        "upload_too_large",
        f"the upload is over the limit of {stated_limit} bytes",
        {"Connection": "close"},
    )


def too_slow(timeout: float) -> GatewayError:
    return GatewayError(
        408,
        "request_timeout",
        f"the request body did not arrive within {timeout:g} s",
        {"Connection": "close"},
    )


class BodySizeLimit:
    """ASGI middleware: 413 at once for a declared Content-Length over the limit; otherwise
    count the bytes as they are received and stop reading at the limit."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, timeout: float = 60.0, stated_limit: int | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes  # the image limit plus room for the multipart framing
        self.stated_limit = stated_limit or max_bytes  # the limit people configured and read
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = is_upload(scope)
        limit, stated = (self.max_bytes, self.stated_limit) if upload else (FORM_LIMIT, FORM_LIMIT)
        timeout = self.timeout if upload else min(self.timeout, FORM_TIMEOUT)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        # A form is counted as it is read: a route that reads no body (an unknown path's 404)
        # answers as it would without one.
        if upload and declared.isdigit() and int(declared) > limit:
            await error_response(too_large(stated))(scope, receive, send)
            return
        received = 0
        deadline = asyncio.get_running_loop().time() + timeout

        async def counting_receive() -> Message:
            nonlocal received
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise too_slow(timeout) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large(stated)
            return message

        await self.app(scope, counting_receive, send)
