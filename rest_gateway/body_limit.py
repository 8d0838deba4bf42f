"""Refuse request bodies over the limit while they arrive, never buffering past it, and
bodies that arrive too slowly."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rest_gateway.errors import GatewayError, error_response


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
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await error_response(too_large(self.stated_limit))(scope, receive, send)
            return
        received = 0
        deadline = asyncio.get_running_loop().time() + self.timeout

        async def counting_receive() -> Message:
            nonlocal received
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise too_slow(self.timeout) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise too_large(self.stated_limit)
            return message

        await self.app(scope, counting_receive, send)
