"""What a user of a started system checks: a photo through gRPC and REST, the page, the docs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import grpc
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from grpc_stubs import imagescaler_pb2 as api_pb
from grpc_stubs import imagescaler_pb2_grpc as api_grpc
from imagescaler.grpc_runtime.auth import bearer_metadata
from imagescaler.grpc_runtime.options import CLIENT_MESSAGE_LIMIT, message_size_options
from imagescaler.runtime.bearer_tokens import TokenIssuer, signing_key_from_pem
from rest_gateway.users import hash_password
from tests.support.images import open_bytes, shared_image
from tests.support.processes import Ports

USER, PASSWORD = "ml-engineer", "a long enough password"
PHOTO = "phone_4032x3024_exif6.jpg"  # 12 MP, 3.9 MB: over gRPC's 4 MiB default with headers


def write_gateway_secret(folder: Path) -> Path:
    """What the `gateway-jwt` Secret holds (a signing key and a users file) and what the
    `api-jwt` Secret holds (that key's public half), in one folder: the test mounts it for
    every service where each pod mounts its own."""
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    (folder / "signing-key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (folder / "public-keys.pem").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    (folder / "users.json").write_text(json.dumps({USER: hash_password(PASSWORD)}))
    for path in (folder, *folder.iterdir()):
        os.chmod(path, 0o755 if path.is_dir() else 0o444)  # readable by the image's user
    return folder


def api_token(secret: Path) -> str:
    """A token for the gRPC API, signed with the secret's key, as `imagescaler token` makes."""
    key = signing_key_from_pem((secret / "signing-key.pem").read_bytes())
    return TokenIssuer(key, "imagescaler", "imagescaler", 600).issue("check").access_token


def check_grpc(ports: Ports, token: str | None = None) -> None:
    """ScaleImage straight to the API; with `token` when it asks for one (then a call
    without one must be refused)."""
    options = message_size_options(CLIENT_MESSAGE_LIMIT)
    with grpc.insecure_channel(f"127.0.0.1:{ports.api}", options=options) as channel:
        request = api_pb.ScaleImageRequest(image=api_pb.Image(content=shared_image(PHOTO)))
        stub = api_grpc.ImageScalerStub(channel)
        if token is not None:
            with pytest.raises(grpc.RpcError) as refused:
                stub.ScaleImage(request, timeout=60)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        reply = stub.ScaleImage(request, timeout=60, metadata=bearer_metadata(token))
    image = open_bytes(reply.content)
    assert (image.format, image.mode, image.size) == ("JPEG", "L", (1024, 768))


def check_rest(ports: Ports) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{ports.gateway}", timeout=60) as http:
        assert http.get("/readyz").status_code == 200
        signed_in = http.post("/v1/token", data={"username": USER, "password": PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
        token = signed_in.json()["access_token"]
        reply = http.post(
            "/v1/scale",
            files={"file": (PHOTO, shared_image(PHOTO), "image/jpeg")},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert reply.status_code == 200, reply.text
        image = open_bytes(reply.content)
        assert (image.mode, image.size) == ("L", (1024, 768))
        check_page_and_docs(http)


def check_page_and_docs(http: httpx.Client) -> None:
    """The upload page and the API docs, with every asset they load, come from the package."""
    page = http.get("/")
    assert page.status_code == 200 and "<title>imagescaler</title>" in page.text
    for asset in ("/static/app.js", "/static/style.css"):
        assert http.get(asset).status_code == 200, asset
    for docs, assets in (
        ("/docs", ("swagger-ui-bundle.js", "swagger-ui.css")),
        ("/redoc", ("redoc.standalone.js",)),
    ):
        html = http.get(docs).text
        assert "cdn." not in html and "fonts.googleapis" not in html, f"{docs} loads from a CDN"
        for asset in assets:
            assert f"/docs-assets/{asset}" in html
            served = http.get(f"/docs-assets/{asset}")
            assert served.status_code == 200 and len(served.content) > 100_000, asset
    assert "/v1/scale" in http.get("/openapi.json").json()["paths"]
