"""Gateway fixtures (fixtures only), a pytest plugin of tests/conftest.py."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from imagescaler.grpc_runtime.server import RunningServer
from rest_gateway.settings import GatewaySettings
from rest_gateway.users import hash_password
from tests.support.gateway import PASSWORD, GatewayThread, pem_private


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


@contextmanager
def gateway_starter(key_dir: Path, api: RunningServer) -> Iterator[Callable[..., GatewayThread]]:
    """A function that starts gateways from keyword settings; all stop on the way out."""
    started: list[GatewayThread] = []

    def start(limiter_prefix: str | None = None, **overrides: Any) -> GatewayThread:
        defaults: dict[str, Any] = {
            "listen": "127.0.0.1:0",
            "metrics_listen": "127.0.0.1:0",
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

    try:
        yield start
    finally:
        for gateway in started:
            gateway.stop()


@pytest.fixture(scope="session")
def gateway(key_dir: Path, api: RunningServer) -> Iterator[GatewayThread]:
    """The gateway most tests share."""
    with gateway_starter(key_dir, api) as start:
        yield start()


@pytest.fixture
def start_gateway(key_dir: Path, api: RunningServer) -> Iterator[Callable[..., GatewayThread]]:
    """Gateways of one test, fresh, stopped when it ends."""
    with gateway_starter(key_dir, api) as start:
        yield start


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
