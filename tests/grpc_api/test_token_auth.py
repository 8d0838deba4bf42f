"""The gRPC API with --jwt-public-keys-file: every call but health and reflection needs a bearer
token the same hardened verifier as the gateway's accepts; the rest are refused UNAUTHENTICATED
with the gateway's reasons, before admission counts them or their message is read."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from grpc_stubs import imagescaler_pb2 as api_pb
from grpc_stubs import imagescaler_pb2_grpc as api_grpc
from grpc_stubs import preprocess_v1_pb2 as pre_pb
from grpc_stubs import preprocess_v1_pb2_grpc as pre_grpc
from imagescaler.grpc_runtime.client import health_status_at
from imagescaler.grpc_runtime.server import RunningServer
from imagescaler.runtime.bearer_tokens import (
    TokenIssuer,
    new_dev_signing_pem,
    signing_key_from_pem,
)
from tests.support.images import shared_image
from tests.support.metrics import scrape, value
from tests.support.servers import CLIENT_OPTIONS

PHOTO = shared_image("bird_1920x1080.jpg")
SIGNING_PEM = new_dev_signing_pem()


def issuer(pem: bytes = SIGNING_PEM, ttl: int = 300) -> TokenIssuer:
    return TokenIssuer(signing_key_from_pem(pem), "imagescaler", "imagescaler", ttl)


@pytest.fixture
def api(start_api: Callable[..., RunningServer], tmp_path: Path) -> RunningServer:
    private = serialization.load_pem_private_key(SIGNING_PEM, password=None)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "public-key.pem").write_bytes(public)
    return start_api(jwt_public_keys_file=tmp_path / "public-key.pem")


def scale(api: RunningServer, token: str | None) -> api_pb.ScaleImageReply:
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    with grpc.insecure_channel(f"127.0.0.1:{api.port}", options=CLIENT_OPTIONS) as channel:
        request = api_pb.ScaleImageRequest(image=api_pb.Image(content=PHOTO))
        return api_grpc.ImageScalerStub(channel).ScaleImage(  # type: ignore[no-any-return]
            request, timeout=30, metadata=metadata
        )


def refusal(api: RunningServer, token: str | None) -> tuple[grpc.StatusCode, str, str]:
    with pytest.raises(grpc.RpcError) as caught:
        scale(api, token)
    error = caught.value
    reason = dict(error.trailing_metadata() or ()).get("imagescaler-reason", "")  # type: ignore[attr-defined]
    return error.code(), reason, error.details()  # type: ignore[attr-defined]


def test_a_token_it_accepts_gets_the_image(api: RunningServer) -> None:
    reply = scale(api, issuer().issue("bulk-job").access_token)
    assert reply.content[:2] == b"\xff\xd8"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (None, "missing_token"),
        ("not-a-jwt", "malformed_token"),
        (issuer(new_dev_signing_pem()).issue("forger").access_token, "invalid_token"),
        (issuer().issue("late", now=time.time() - 3600).access_token, "expired_token"),
    ],
    ids=["none", "malformed", "another key", "expired"],
)
def test_calls_without_an_acceptable_token_are_refused_before_any_work(
    api: RunningServer, token: str | None, reason: str
) -> None:
    code, said, message = refusal(api, token)
    assert (code, said) == (grpc.StatusCode.UNAUTHENTICATED, reason), message
    scale(api, issuer().issue("after").access_token)  # a good call, which the metrics count
    samples = scrape(f"http://127.0.0.1:{api.metrics_port}/metrics")
    # Refused outside admission and the servicer: only the good call started; the refusal
    # is counted by its reason.
    assert value(samples, "grpc_server_started_total", grpc_method="ScaleImage") == 1
    assert value(samples, "grpc_server_rejected_total", reason=reason) == 1


def test_streams_and_profiles_need_the_token_too(api: RunningServer) -> None:
    token = issuer().issue("bulk-job").access_token
    with grpc.insecure_channel(f"127.0.0.1:{api.port}", options=CLIENT_OPTIONS) as channel:
        stub = pre_grpc.PreprocessorStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.ListProfiles(pre_pb.ListProfilesRequest(), timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        items = iter([pre_pb.StreamRequest(id="a", image=pre_pb.ImageInput(content=PHOTO))])
        with pytest.raises(grpc.RpcError) as caught:
            list(stub.PreprocessStream(items, timeout=10))
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        metadata = (("authorization", f"Bearer {token}"),)
        listed = stub.ListProfiles(pre_pb.ListProfilesRequest(), timeout=10, metadata=metadata)
        assert "yolo-640" in {p.name for p in listed.profiles}


def test_health_and_reflection_stay_open(api: RunningServer) -> None:
    assert health_status_at(f"127.0.0.1:{api.port}", timeout=5) == "SERVING"
    with grpc.insecure_channel(f"127.0.0.1:{api.port}") as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        (answer,) = stub.ServerReflectionInfo(iter([request]), timeout=10)
    services = {s.name for s in answer.list_services_response.service}
    assert "imagescaler.ImageScaler" in services
