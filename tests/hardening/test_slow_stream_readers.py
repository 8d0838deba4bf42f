"""PreprocessStream clients that never read their replies.

Round 3: sixteen streams sent 100-byte PNGs for yolo-640 (a 4.9 MB reply each) and never read;
the API went from 84 to 604-688 MiB and 40 of 40 other calls were refused "16 calls in
progress". Now streams are counted apart from unary calls (in total and per client address),
and each stream holds at most --stream-reply-bytes of replies not yet sent: the next request is
read only below it."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from PIL import Image

from grpc_stubs import preprocess_v1_pb2 as pre_pb
from grpc_stubs import preprocess_v1_pb2_grpc as pre_grpc
from imagescaler.grpc_runtime.options import CLIENT_MESSAGE_LIMIT, client_options
from tests.hardening.processes import ImageServiceProcess
from tests.support.images import encode
from tests.support.processes import LISTENING, ServiceProcess, start
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow
MiB = 1 << 20
TINY_PNG = encode(Image.new("RGB", (100, 100), (30, 60, 90)), "PNG")
STREAMS = 6  # from one address: 4 admitted (--max-streams-per-client), 2 refused
ITEMS = 40
POD_LIMIT_MIB = 384  # the API's limit in the base manifests


def preprocess_calls(service: ImageServiceProcess) -> float:
    page = httpx.get(f"http://127.0.0.1:{service.metrics_port}/metrics", timeout=5).text
    pattern = r'^grpc_server_started_total\{[^}]*grpc_method="Preprocess"[^}]*\} (\S+)$'
    return sum(float(v) for v in re.findall(pattern, page, re.MULTILINE))


def memory_mib(process: ServiceProcess, key: str) -> float:
    with open(f"/proc/{process.process.pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(key)) / 1024


def requests() -> Iterator[pre_pb.StreamRequest]:
    for number in range(ITEMS):
        image = pre_pb.ImageInput(content=TINY_PNG)
        yield pre_pb.StreamRequest(id=str(number), image=image, profile="yolo-640")


def channel(address: str) -> grpc.Channel:
    """A channel with a connection of its own (not shared with the others of this process)."""
    options = [*client_options(CLIENT_MESSAGE_LIMIT), ("grpc.use_local_subchannel_pool", 1)]
    return grpc.insecure_channel(address, options=options)


def test_streams_that_never_read_hold_bounded_memory_and_no_call_slot() -> None:
    image_service = ImageServiceProcess()
    command = ["-m", "imagescaler", "api", "--listen", "127.0.0.1:0", "--metrics-listen", "",
               "--image-service", image_service.address]  # fmt: skip
    api = start("API", [sys.executable, *command], None, None)
    channels: list[grpc.Channel] = []
    try:
        address = f"127.0.0.1:{int(api.wait_for(LISTENING)[1])}"
        with channel(address) as warm:
            stub = pre_grpc.PreprocessorStub(warm)
            request = pre_pb.PreprocessRequest(
                image=pre_pb.ImageInput(content=TINY_PNG), profile="yolo-640"
            )
            stub.Preprocess(request, timeout=30)
        idle = memory_mib(api, "VmRSS")
        Path(f"/proc/{api.process.pid}/clear_refs").write_text("5")  # the peak from now
        calls = []
        for _ in range(STREAMS):
            channels.append(channel(address))
            calls.append(pre_grpc.PreprocessorStub(channels[-1]).PreprocessStream(requests()))
        wait_until(lambda: sum(call.done() for call in calls) >= 2, 30, "two streams refused")
        refused = [call for call in calls if call.done()]
        assert len(refused) == 2
        for call in refused:
            assert call.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "already has 4 streams open" in (call.details() or "")
        # Each admitted stream works until its replies fill its share, then nothing more is
        # read from it: 3 yolo-640 replies of 4.9 MB under 16 MiB.
        wait_until(lambda: preprocess_calls(image_service) >= 1 + 4 * 3, 60, "streams filled")
        with channel(address) as other:
            stub = pre_grpc.PreprocessorStub(other)
            for _ in range(20):  # another user's calls: no "calls in progress" refusal
                assert stub.Preprocess(request, timeout=30).tensor.shape == [3, 640, 640]
        handled = preprocess_calls(image_service)
        assert handled <= 1 + 4 * (3 + 1) + 20, "the streams went on past their share"
        peak = memory_mib(api, "VmHWM")
        print(f"API: idle {idle:.0f} MiB, peak with four stuck streams {peak:.0f} MiB")
        # A reply is held twice at most (the message, and gRPC's serialised copy): 4 x 2 x 16
        # MiB, and room for the other user's calls. Unbounded, 4 x 8 x 4.9 MB x 2.
        assert peak - idle < 4 * 2 * 16 + 32 and peak < POD_LIMIT_MIB
    finally:
        for open_channel in channels:
            open_channel.close()
        api.stop()
        image_service.stop()
