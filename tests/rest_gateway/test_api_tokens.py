"""A gateway in front of an API that asks for tokens passes each caller's own token on: every
route that reaches the API works with it, and the API still refuses a call without one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives import serialization

from imagescaler.grpc_runtime.server import RunningServer
from tests.support.gateway import PASSWORD, GatewayThread
from tests.support.images import shared_image
from tests.support.servers import ScaleClient

PHOTO = shared_image("bird_1920x1080.jpg")


@pytest.fixture
def secured_api(
    start_api: Callable[..., RunningServer], key_dir: Path, tmp_path: Path
) -> RunningServer:
    """An API that believes the tokens the gateways' signing key issues, and no others."""
    private = serialization.load_pem_private_key(
        (key_dir / "signing.pem").read_bytes(), password=None
    )
    public = tmp_path / "gateway-public.pem"
    public.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return start_api(jwt_public_keys_file=public)


def test_every_api_route_passes_the_callers_token(
    secured_api: RunningServer, start_gateway: Callable[..., GatewayThread]
) -> None:
    gateway = start_gateway(api=f"127.0.0.1:{secured_api.port}")
    with gateway.client() as client:
        form = {"username": "alice", "password": PASSWORD}
        token = client.post("/v1/token", data=form).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        upload = {"file": ("bird.jpg", PHOTO, "image/jpeg")}
        assert client.post("/v1/scale", files=upload).status_code == 200
        # The profile's outputs are looked up (ListProfiles) with the caller's token too.
        reply = client.post("/v1/preprocess?profile=yolo-640", files=upload)
        assert reply.status_code == 200, reply.text
        assert client.post("/v1/inspect", files=upload).status_code == 200
        assert client.get("/v1/profiles").status_code == 200
    refused = ScaleClient(secured_api.port).error(PHOTO)
    assert refused.code() == grpc.StatusCode.UNAUTHENTICATED
