"""Gateway fixtures, a pytest plugin of tests/conftest.py: the real gateway under uvicorn."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from imagescaler.runtime.grpc_server import RunningServer
from rest_gateway.main import create_app, uvicorn_config
from rest_gateway.settings import GatewaySettings
from rest_gateway.users import hash_password

PASSWORD = "correct horse battery staple"


class GatewayThread:
    """uvicorn serving create_app(settings) on 127.0.0.1:0 in a background thread."""

    def __init__(self, settings: GatewaySettings, limiter_prefix: str) -> None:
        app = create_app(settings, limiter_prefix=limiter_prefix)
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


@pytest.fixture(scope="session")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A signing key, an identity provider's keys (PEM and JWKS) and a users file."""
    folder = tmp_path_factory.mktemp("keys")
    (folder / "signing.pem").write_bytes(pem_private(ec.generate_private_key(ec.SECP256R1())))
    idp = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (folder / "idp.pem").write_bytes(pem_private(idp))
    (folder / "idp_public.pem").write_bytes(
        idp.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    (folder / "idp_public.der").write_bytes(
        idp.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    (folder / "users.json").write_text(json.dumps({"alice": hash_password(PASSWORD)}))
    return folder


@pytest.fixture(scope="session")
def start_gateway(key_dir: Path, api: RunningServer) -> Iterator[Callable[..., GatewayThread]]:
    started: list[GatewayThread] = []

    def start(limiter_prefix: str | None = None, **overrides: Any) -> GatewayThread:
        defaults: dict[str, Any] = {
            "listen": "127.0.0.1:0",
            "api": f"127.0.0.1:{api.port}",
            "jwt_signing_key_file": key_dir / "signing.pem",
            "jwt_public_keys_file": key_dir / "idp_public.pem",
            "users_file": key_dir / "users.json",
            "rate_limit": "1000/minute",
            "token_rate_limit": "1000/minute",
        }
        settings = GatewaySettings(**{**defaults, **overrides})
        gateway = GatewayThread(settings, limiter_prefix or f"test-{uuid.uuid4().hex}")
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.stop()


@pytest.fixture(scope="session")
def gateway(start_gateway: Callable[..., GatewayThread]) -> GatewayThread:
    return start_gateway()


@pytest.fixture(scope="session")
def token(gateway: GatewayThread) -> str:
    with gateway.client() as client:
        reply = client.post("/v1/token", data={"username": "alice", "password": PASSWORD})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["access_token"])


@pytest.fixture
def http(gateway: GatewayThread, token: str) -> Iterator[httpx.Client]:
    with gateway.client(headers={"Authorization": f"Bearer {token}"}) as client:
        yield client
