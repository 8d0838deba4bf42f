"""The real gateway under uvicorn on 127.0.0.1:0, in a background thread."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

import httpx
import uvicorn
from cryptography.hazmat.primitives import serialization

from rest_gateway.main import create_app, uvicorn_config
from rest_gateway.settings import GatewaySettings
from rest_gateway.upload_admission import UploadAdmission

PASSWORD = "correct horse battery staple"


class GatewayThread:
    """uvicorn serving create_app(settings) on 127.0.0.1:0 in a background thread."""

    def __init__(self, settings: GatewaySettings, limiter_prefix: str) -> None:
        app = self.app = create_app(settings, limiter_prefix=limiter_prefix)
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.server = uvicorn.Server(uvicorn_config(app, settings, port=self.port))
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the gateway did not start")
            threading.Event().wait(0.02)

    def _run(self) -> None:
        asyncio.run(self.server.serve(sockets=[self._socket]))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        """The gateway's /metrics, on its own port (metrics_listen)."""
        return f"http://127.0.0.1:{self.app.state.metrics_port}/metrics"

    @property
    def requests_in_progress(self) -> int:
        """Requests whose headers uvicorn has read and whose answer is not finished."""
        return len(self.server.server_state.tasks)

    def admission(self) -> UploadAdmission:
        """The app's upload admission middleware (the stack is built by the first request)."""
        layer: Any = self.app.middleware_stack
        while layer is not None and not isinstance(layer, UploadAdmission):
            layer = getattr(layer, "app", None)
        assert layer is not None, "no UploadAdmission in the middleware stack"
        return layer

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(10)
        self._socket.close()


def pem_private(key: Any) -> bytes:
    return key.private_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
