"""Refuse request bodies over the limit while they arrive, never buffering past it."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rest_gateway.errors import GatewayError, error_response


def too_large(max_bytes: int) -> GatewayError:
    # Connection: close makes the server drop the connection instead of reading the rest.
    return GatewayError(
        413,
        "upload_too_large",
        f"the request body is over the limit of {max_bytes} bytes",
        {"Connection": "close"},
    )


class BodySizeLimit:
    """ASGI middleware: 413 at once for a declared Content-Length over the limit; otherwise
    count the bytes as they are received and stop reading at the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await error_response(too_large(self.max_bytes))(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise too_large(self.max_bytes)
            return message

        await self.app(scope, counting_receive, send)
