"""uvicorn's HTTP protocol with the limits it lacks: a header deadline and a header size cap.

Both act before a request reaches the application, where no middleware can see it: a client
that sends headers slowly (or nothing at all) is answered 408 and dropped after
`header_timeout`, and headers over `max_header_bytes` are answered 431 and dropped."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    header_timeout: float = 10.0
    max_header_bytes: int = 16 * 1024

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_bytes = 0
        self._pending_bytes = 0
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        awaiting = self._header_timer is not None
        if awaiting:
            self._pending_bytes += len(data)
        super().data_received(data)
        # Still inside the headers after this chunk: every byte so far belongs to them.
        if self._header_timer is not None and self._pending_bytes > self.max_header_bytes:
            self._refuse(431, "the request headers are too large")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        self._arm_header_timer()

    def on_url(self, url: bytes) -> None:
        self._header_bytes += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        if self._header_bytes > self.max_header_bytes:
            self._refuse(431, "the request headers are too large")
            return
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._pending_bytes = 0
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        self._refuse(408, "the request headers did not arrive in time")

    def _refuse(self, status: int, message: str) -> None:
        self._disarm_header_timer()
        if self.transport.is_closing():
            return
        code = REASONS[status].decode().lower().replace(" ", "_")
        body = json.dumps({"error": code, "detail": message, "request_id": "-"})
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%s" % (status, REASONS[status], len(body), body.encode())
        )
        self.transport.close()


def guarded_protocol(header_timeout: float, max_header_bytes: int) -> type[Any]:
    """A protocol class carrying these limits, for uvicorn.Config(http=...)."""
    return type(
        "ConfiguredGuardedHttpToolsProtocol",
        (GuardedHttpToolsProtocol,),
        {"header_timeout": header_timeout, "max_header_bytes": max_header_bytes},
    )
