"""imagescaler.preprocess.v1.Preprocessor against real servers: the service returns exactly
what the library returns, the stream reports per item, and every error names its problem."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc
import numpy as np
import pytest

from grpc_api.profile_catalog import ProfileCatalog
from grpc_api.settings import ApiSettings
from grpc_stubs import preprocess_v1_pb2 as pre_pb
from grpc_stubs import preprocess_v1_pb2_grpc as pre_grpc
from imagescaler.grpc_runtime.server import RunningServer
from imagescaler.imaging.builtin_profiles import BUILTIN_PROFILES
from imagescaler.imaging.preprocess import preprocess
from imagescaler.messages import geometry_of
from tests.support.images import encode, open_bytes, shared_image
from tests.support.servers import CLIENT_OPTIONS, ScaleClient

CORPUS = [
    "hotdog_1400x1316.jpg",
    "phone_4032x3024_exif6.jpg",
    "rgba_400x300.png",
    "photo_550x368.webp",
]
PROFILES = ProfileCatalog.from_settings(ApiSettings()).all()


@pytest.fixture(scope="module")
def stub(api: RunningServer) -> Iterator[pre_grpc.PreprocessorStub]:
    with grpc.insecure_channel(f"127.0.0.1:{api.port}", options=CLIENT_OPTIONS) as channel:
        yield pre_grpc.PreprocessorStub(channel)


def request(photo: str, profile: str) -> pre_pb.PreprocessRequest:
    return pre_pb.PreprocessRequest(
        image=pre_pb.ImageInput(content=shared_image(photo)), profile=profile
    )


def tensor(reply: pre_pb.PreprocessReply) -> np.ndarray:
    array = np.frombuffer(reply.tensor.data, dtype=reply.tensor.dtype)
    return array.reshape(tuple(reply.tensor.shape))


@pytest.mark.parametrize("photo", CORPUS)
@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_the_service_returns_exactly_what_the_library_returns(
    stub: pre_grpc.PreprocessorStub, profile: object, photo: str
) -> None:
    from imagescaler.imaging.profiles import Profile

    assert isinstance(profile, Profile)
    reply = stub.Preprocess(request(photo, profile.name), timeout=60)
    local = preprocess(shared_image(photo), profile)
    assert reply.profile == local.profile == profile.reference
    assert geometry_of(reply.geometry) == local.geometry
    flat = [value for row in local.geometry.output_to_source for value in row]
    assert list(reply.geometry.output_to_source) == pytest.approx(flat)
    if local.array is not None:
        assert reply.WhichOneof("output") == "tensor"
        assert np.array_equal(tensor(reply), local.array)
        assert reply.tensor.dtype == str(local.array.dtype)
    else:
        assert reply.image.data == local.data and reply.image.media_type == local.media_type


@pytest.mark.parametrize("photo", ["hotdog_1400x1316.jpg", "phone_4032x3024_exif6.jpg"])
def test_default_is_what_the_original_scale_image_returns(
    stub: pre_grpc.PreprocessorStub, client: ScaleClient, photo: str
) -> None:
    reply = stub.Preprocess(request(photo, ""), timeout=60)
    assert reply.profile.startswith("default@1#")
    assert reply.image.data == client.scale(shared_image(photo))


def test_default_keeps_the_margin_rule(
    stub: pre_grpc.PreprocessorStub, client: ScaleClient
) -> None:
    near = encode(open_bytes(shared_image("bird_1920x1080.jpg")).resize((1010, 760)), "JPEG")
    reply = stub.Preprocess(
        pre_pb.PreprocessRequest(image=pre_pb.ImageInput(content=near)), timeout=30
    )
    assert reply.geometry.margin_skipped and list(reply.geometry.output_size) == [1010, 760]
    assert reply.image.data == client.scale(near)


def test_an_unknown_profile_is_not_found_and_the_known_ones_are_named(
    stub: pre_grpc.PreprocessorStub,
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.Preprocess(request("hotdog_1400x1316.jpg", "resnet-9000"), timeout=30)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    details = caught.value.details() or ""
    assert "'resnet-9000'" in details and "imagenet-224" in details and "yolo-640" in details


def test_list_profiles_gives_names_versions_and_references(stub: pre_grpc.PreprocessorStub) -> None:
    listed = {
        p.name: p for p in stub.ListProfiles(pre_pb.ListProfilesRequest(), timeout=10).profiles
    }
    assert set(listed) == set(BUILTIN_PROFILES)
    assert (
        listed["imagenet-224"].ref
        == next(p for p in PROFILES if p.name == "imagenet-224").reference
    )
    assert '"shortest_edge"' in listed["clip-224"].spec_json


def test_inspect_reads_the_header_only(stub: pre_grpc.PreprocessorStub) -> None:
    image = pre_pb.ImageInput(content=shared_image("phone_4032x3024_exif6.jpg"))
    facts = stub.Inspect(pre_pb.InspectRequest(image=image), timeout=10)
    assert facts.format == "JPEG" and facts.orientation == 6 and facts.icc_profile
    assert list(facts.stored_size) == [4032, 3024] and list(facts.upright_size) == [3024, 4032]
    gif = stub.Inspect(
        pre_pb.InspectRequest(
            image=pre_pb.ImageInput(content=shared_image("animated_703x681_24frames.gif"))
        ),
        timeout=10,
    )
    assert gif.frames == 24 and gif.mode == "P"
    with pytest.raises(grpc.RpcError) as caught:
        stub.Inspect(
            pre_pb.InspectRequest(
                image=pre_pb.ImageInput(content=shared_image("formats/test.pdf"))
            ),
            timeout=10,
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "PDF" in (
        caught.value.details() or ""
    )


def stream_items() -> list[pre_pb.StreamRequest]:
    good = shared_image("hotdog_1400x1316.jpg")
    return [
        pre_pb.StreamRequest(id="a", image=pre_pb.ImageInput(content=good), profile="yolo-640"),
        pre_pb.StreamRequest(
            id="truncated",
            image=pre_pb.ImageInput(content=shared_image("truncated_1680x1050.jpg")),
            profile="yolo-640",
        ),
        pre_pb.StreamRequest(
            id="html", image=pre_pb.ImageInput(content=b"<!doctype html><p>x"), profile="yolo-640"
        ),
        pre_pb.StreamRequest(id="nameless", image=pre_pb.ImageInput(content=good), profile="nope"),
        pre_pb.StreamRequest(id="loopback", image=pre_pb.ImageInput(url="http://127.0.0.1/a.jpg")),
        pre_pb.StreamRequest(id="b", image=pre_pb.ImageInput(content=good), profile="clip-224"),
    ]


def test_a_stream_answers_every_item_with_its_own_status(stub: pre_grpc.PreprocessorStub) -> None:
    replies = {r.id: r for r in stub.PreprocessStream(iter(stream_items()), timeout=60)}
    assert set(replies) == {"a", "truncated", "html", "nameless", "loopback", "b"}
    assert replies["a"].code == 0 and tensor(replies["a"].result).shape == (3, 640, 640)
    assert replies["b"].code == 0 and replies["b"].result.profile.startswith("clip-224@1#")
    expected = {
        "truncated": (grpc.StatusCode.INVALID_ARGUMENT, "corrupt_image"),
        "html": (grpc.StatusCode.INVALID_ARGUMENT, "unsupported_image"),
        "nameless": (grpc.StatusCode.NOT_FOUND, "unknown_profile"),
        "loopback": (grpc.StatusCode.PERMISSION_DENIED, "source_refused"),
    }
    for item, (code, reason) in expected.items():
        assert (replies[item].code, replies[item].reason) == (code.value[0], reason), item
        assert replies[item].message


def test_the_stream_window_keeps_a_small_image_service_from_overflowing(
    start_image_service: Callable[..., RunningServer], start_api: Callable[..., RunningServer]
) -> None:
    image = start_image_service(workers=1, queue_depth=0)
    items = [
        pre_pb.StreamRequest(
            id=str(n), image=pre_pb.ImageInput(content=shared_image("hotdog_1400x1316.jpg")),
            profile="yolo-640",
        )
        for n in range(6)
    ]  # fmt: skip
    for window, overflows in ((1, False), (6, True)):
        api = start_api(image_service=f"127.0.0.1:{image.port}", stream_window=window)
        with grpc.insecure_channel(f"127.0.0.1:{api.port}", options=CLIENT_OPTIONS) as channel:
            replies = list(
                pre_grpc.PreprocessorStub(channel).PreprocessStream(iter(items), timeout=60)
            )
        assert sorted(r.id for r in replies) == [str(n) for n in range(6)]
        refused = [r for r in replies if r.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]]
        assert bool(refused) == overflows, (window, [(r.id, r.reason) for r in replies])
        assert all(r.reason == "overloaded" and "retry" in r.message for r in refused)
