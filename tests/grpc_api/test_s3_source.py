"""s3://bucket/key as an image's URL at the API: fetched with the server's credentials from
allowed buckets only (none by default), within the download limits, errors in the existing
codes. Against moto's S3 server on 127.0.0.1."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import grpc
import pytest
from PIL import Image

from grpc_stubs import preprocess_v1_pb2 as pre
from grpc_stubs import preprocess_v1_pb2_grpc as pre_grpc
from imagescaler.grpc_runtime.server import RunningServer
from tests.support.images import shared_image
from tests.support.s3_server import CREDENTIALS, S3Server, s3_server
from tests.support.servers import CLIENT_OPTIONS, ScaleClient

PHOTO = "hotdog_1400x1316.jpg"


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with s3_server(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        for bucket in ("photos", "private"):
            server.bucket(bucket)
        fs = server.fs()
        fs.pipe_file(f"photos/{PHOTO}", shared_image(PHOTO))
        fs.pipe_file("private/secret.jpg", shared_image(PHOTO))
        fs.pipe_file("photos/huge.jpg", b"\xff\xd8" + b"\0" * 1_200_000)
        yield server


@pytest.fixture
def api(
    s3: S3Server, start_api: Callable[..., RunningServer], monkeypatch: pytest.MonkeyPatch
) -> RunningServer:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    return start_api(
        s3_allowed_buckets="photos", s3_endpoint=s3.endpoint, max_image_bytes=1_000_000
    )


def preprocess(port: int, url: str) -> pre.PreprocessReply:
    with grpc.insecure_channel(f"127.0.0.1:{port}", options=CLIENT_OPTIONS) as channel:
        stub = pre_grpc.PreprocessorStub(channel)
        request = pre.PreprocessRequest(image=pre.ImageInput(url=url), profile="imagenet-224")
        reply: pre.PreprocessReply = stub.Preprocess(request, timeout=30)
        return reply


def test_an_object_in_an_allowed_bucket_is_fetched(api: RunningServer) -> None:
    reply = preprocess(api.port, f"s3://photos/{PHOTO}")
    assert list(reply.tensor.shape) == [3, 224, 224]
    assert list(reply.geometry.upright_size) == [1400, 1316]
    scaled = ScaleClient(api.port).scale(url=f"s3://photos/{PHOTO}")  # the original API too
    assert Image.open(io.BytesIO(scaled)).size == (1024, 768)


@pytest.mark.parametrize(
    ("url", "code", "says"),
    [
        ("s3://private/secret.jpg", grpc.StatusCode.PERMISSION_DENIED, "(allowed: photos)"),
        ("s3://photos/missing.jpg", grpc.StatusCode.FAILED_PRECONDITION, "does not exist"),
        ("s3://photos/huge.jpg", grpc.StatusCode.RESOURCE_EXHAUSTED, "over the limit"),
        ("s3:///nobucket.jpg", grpc.StatusCode.PERMISSION_DENIED, "names no bucket"),
    ],
)
def test_refusals_and_failures_use_the_existing_codes(
    api: RunningServer, url: str, code: grpc.StatusCode, says: str
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        preprocess(api.port, url)
    assert caught.value.code() == code, caught.value.details()
    assert says in (caught.value.details() or "")


def test_s3_urls_are_refused_by_default(start_api: Callable[..., RunningServer]) -> None:
    error = ScaleClient(start_api().port).error(url=f"s3://photos/{PHOTO}")
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "(allowed: none)" in (error.details() or "")
