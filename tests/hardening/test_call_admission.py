"""The gRPC services admit calls by count and request bytes: the rest are refused
RESOURCE_EXHAUSTED/overloaded at once, health checks are never refused, and the gateway
answers a refusal 503 with Retry-After."""

from __future__ import annotations

import contextlib
import gc
import socket
import threading
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from grpc_stubs import imagescaler_pb2 as api_pb
from grpc_stubs import preprocess_v1_pb2 as pre_pb
from grpc_stubs import preprocess_v1_pb2_grpc as pre_grpc
from imagescaler.grpc_runtime.client import health_status_at
from imagescaler.grpc_runtime.server import RunningServer
from tests.support.images import shared_image
from tests.support.metrics import scrape, value
from tests.support.paths import ROOT
from tests.support.servers import CLIENT_OPTIONS, ScaleClient
from tests.support.waiting import wait_until

PHOTO = shared_image("bird_1920x1080.jpg")  # 0.8 MB


@pytest.fixture
def silent_upstream() -> Iterator[str]:
    """An address that accepts TCP connections (into its backlog) and never answers: an image
    service that hangs, so the API's calls stay in flight until their deadline."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as listener:
        yield f"127.0.0.1:{listener.getsockname()[1]}"


def hold(port: int, content: bytes) -> threading.Thread:
    """A call on a connection of its own that stays in flight (its upstream never answers)."""
    client = ScaleClient(port, own_connection=True)

    def call() -> None:
        with contextlib.suppress(grpc.RpcError):
            client.scale(content)

    thread = threading.Thread(target=call)
    thread.start()
    return thread


def wait_in_flight(api: RunningServer, calls: int) -> None:
    """Until `calls` ScaleImage calls are admitted and in progress (the API's own gauge)."""

    def in_flight() -> float:
        samples = scrape(f"http://127.0.0.1:{api.metrics_port}/metrics")
        return value(samples, "grpc_server_in_flight", grpc_method="ScaleImage")

    wait_until(lambda: in_flight() == calls, 10, f"{calls} calls in flight")


def request(content: bytes) -> api_pb.ScaleImageRequest:
    return api_pb.ScaleImageRequest(image=api_pb.Image(content=content))


def reason(error: grpc.RpcError) -> str | None:
    return dict(error.trailing_metadata() or ()).get("imagescaler-reason")  # type: ignore[attr-defined]


def test_calls_over_the_count_are_refused_at_once_and_health_still_answers(
    start_api: Callable[..., RunningServer], silent_upstream: str
) -> None:
    api = start_api(image_service=silent_upstream, image_service_timeout=3.0, max_calls_in_flight=2)
    client = ScaleClient(api.port, own_connection=True)
    held = [hold(api.port, PHOTO) for _ in range(2)]
    wait_in_flight(api, 2)
    error = client.error(PHOTO)  # answered while both are held: refused, not queued
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()
    assert reason(error) == "overloaded" and "2 calls are in progress" in (error.details() or "")
    assert health_status_at(f"127.0.0.1:{api.port}", timeout=1.0) == "SERVING"
    for thread in held:
        thread.join(10)
    # Slots are given back: the next call gets through (to the silent upstream's deadline).
    error = client.error(PHOTO)
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED, error.details()


def test_calls_over_the_request_bytes_are_refused(
    start_api: Callable[..., RunningServer], silent_upstream: str
) -> None:
    api = start_api(
        image_service=silent_upstream,
        image_service_timeout=3.0,
        max_image_bytes=1_500_000,
        max_request_bytes_in_flight="2MiB",
    )
    client = ScaleClient(api.port, own_connection=True)
    held = hold(api.port, PHOTO)
    wait_in_flight(api, 1)
    gc.collect()
    gc.disable()  # what a reference cycle keeps is found before the collector frees it
    try:
        error = client.error(PHOTO + REFUSED_TAIL)  # 1.3 MB: with the held 0.8 MB, over 2 MiB
        kept = [frame.f_code.co_name for frame in gc.get_objects() if holds_the_refused(frame)]
    finally:
        gc.enable()
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()
    assert reason(error) == "overloaded" and "of 2 MiB" in (error.details() or "")
    # The refused message is gone with its call: an upload storm's refusals, kept alive by
    # their tracebacks until the collector ran, held the API 60-90 MiB over idle.
    assert kept == []
    held.join(10)


REFUSED_TAIL = b"\0" * 500_000  # marks the refused message apart from other tests' images


def holds_the_refused(thing: object) -> bool:
    """A frame of the services' own code (not this test's client, nor gRPC's) still holding
    the refused request's bytes, or its message."""
    # type(), not isinstance(): that would read __class__, and some objects of other
    # libraries loaded in this process warn when their attributes are read.
    if type(thing) is not types.FrameType:
        return False
    source = Path(thing.f_code.co_filename)
    if not source.is_relative_to(ROOT) or source.is_relative_to(ROOT / "tests"):
        return False
    if ".venv" in source.parts:
        return False
    return any(is_refused(value) for value in thing.f_locals.values())


def is_refused(value: object) -> bool:
    if type(value) is tuple:
        return any(is_refused(part) for part in value)
    if type(value) is bytes:
        return len(value) > len(REFUSED_TAIL) and REFUSED_TAIL in value
    if type(value).__name__ == "ScaleImageRequest":
        return value.image.content.endswith(REFUSED_TAIL)  # type: ignore[attr-defined]
    return False


def test_a_refused_call_never_reaches_the_servicer(
    start_api: Callable[..., RunningServer], silent_upstream: str
) -> None:
    api = start_api(image_service=silent_upstream, image_service_timeout=2.0, max_calls_in_flight=1)
    client = ScaleClient(api.port, own_connection=True)
    held = hold(api.port, PHOTO)
    wait_in_flight(api, 1)
    errors = [client.error(PHOTO) for _ in range(20)]
    assert {e.code() for e in errors} == {grpc.StatusCode.RESOURCE_EXHAUSTED}
    held.join(10)
    # The interceptors inside admission (metrics among them) saw the held call only: the 20
    # refusals never reached them, nor the servicer; admission counted them as rejected.
    samples = scrape(f"http://127.0.0.1:{api.metrics_port}/metrics")
    assert value(samples, "grpc_server_started_total", grpc_method="ScaleImage") == 1
    assert value(samples, "grpc_server_rejected_total", reason="overloaded") == 20


def test_the_budget_cannot_be_smaller_than_one_message() -> None:
    from grpc_api.settings import ApiSettings

    with pytest.raises(ValueError, match="max_request_bytes_in_flight"):
        ApiSettings(max_image_bytes=64 << 20, max_request_bytes_in_flight="32MiB")


def test_calls_over_the_limit_on_one_connection_are_refused_not_queued(
    start_api: Callable[..., RunningServer], silent_upstream: str
) -> None:
    api = start_api(image_service=silent_upstream, image_service_timeout=2.0, max_calls_in_flight=2)
    client = ScaleClient(api.port, own_connection=True)
    calls = [client.stub.ScaleImage.future(request(PHOTO), timeout=10) for _ in range(3)]
    codes = sorted(call.code().name for call in calls)
    # Streams go up to twice the calls: the third is sent and refused at once, instead of
    # waiting on the client for a stream (and holding up the health checks behind it).
    assert codes == ["DEADLINE_EXCEEDED", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED"]
    assert health_status_at(f"127.0.0.1:{api.port}", timeout=1.0) == "SERVING"


def test_a_finished_call_leaves_no_message_in_memory(client: ScaleClient) -> None:
    """Nothing may keep a request message alive once its call is over, not even in a reference
    cycle the garbage collector would free later: under load, ten 21 MB messages stayed so.
    With the collector off, a message in a cycle never goes, and the wait fails."""

    def alive() -> list[str]:
        return [type(o).__name__ for o in gc.get_objects() if holds_an_image(o)]

    gc.collect()
    gc.disable()
    try:
        client.scale(PHOTO)
        # The servers finish their side of the call just after the client has its answer.
        wait_until(lambda: not alive(), 10, f"the request messages freed (alive: {alive()})")
    finally:
        gc.enable()


def holds_an_image(thing: object) -> bool:
    """A request message with an image in it, or an upload kept apart from its message
    (imagescaler.messages.WithPayload) and never taken: either should be gone with its
    call."""
    name = type(thing).__name__
    if name == "WithPayload":  # once taken, only the small fields are left in it
        return len(thing._payload) > 100_000  # type: ignore[attr-defined]
    return name in ("ScaleImageRequest", "PreprocessJob") and thing.ByteSize() > 100_000  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "method",
    ["/imagescaler.ImageScaler/ScaleImage", "/imagescaler.preprocess.v1.Preprocessor/Preprocess"],
)
def test_a_malformed_message_is_invalid_argument(client: ScaleClient, method: str) -> None:
    send = client.channel.unary_unary(method, request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as caught:
        send(b"\x0a\xff\xff\xff\x0f" + PHOTO[:1000], timeout=10)  # field 1, 4 GB long: cut
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "malformed" in caught.value.details()


def test_a_streams_messages_count_their_bytes_until_their_reply(
    start_api: Callable[..., RunningServer], silent_upstream: str
) -> None:
    """Three 0.8 MB images on one stream against 1200 KiB of request bytes: the stream reads
    two at once (its window before a first reply), but the second waits for the first's
    bytes, and the third for the second's; none is lost."""
    api = start_api(
        image_service=silent_upstream,
        image_service_timeout=2.0,
        max_image_bytes=1_000_000,
        max_request_bytes_in_flight="1200KiB",
    )
    items = [
        pre_pb.StreamRequest(id=str(n), image=pre_pb.ImageInput(content=PHOTO)) for n in range(3)
    ]
    codes: dict[str, int] = {}

    def run_stream() -> None:
        with grpc.insecure_channel(f"127.0.0.1:{api.port}", options=CLIENT_OPTIONS) as channel:
            stub = pre_grpc.PreprocessorStub(channel)
            for reply in stub.PreprocessStream(iter(items), timeout=30):
                codes[reply.id] = reply.code

    def sent_on() -> float:
        """The API's calls to the image service in progress (each stays 2 s: it never answers)."""
        samples = scrape(f"http://127.0.0.1:{api.metrics_port}/metrics")
        return value(samples, "grpc_client_in_flight", grpc_method="Preprocess")

    stream = threading.Thread(target=run_stream)
    stream.start()
    most = 0.0
    while stream.is_alive():  # sampled throughout: two at once would show for 2 s
        most = max(most, sent_on())
        stream.join(0.05)
    assert codes == dict.fromkeys("012", grpc.StatusCode.DEADLINE_EXCEEDED.value[0]), codes
    assert most == 1, f"{most} images were sent on at once"  # each waited for the bytes
