"""API CPU per request for a tensor profile, `Preprocess` at c=2 and `PreprocessStream`, on the
services `imagescaler up` runs (docs/benchmarks.md, "One pipeline, replies passed through").

    .venv/bin/python scripts/bench_tensor_replies.py LABEL
"""

from __future__ import annotations

import io
import os
import sys
import threading
import time
from pathlib import Path

import grpc
from PIL import Image

from grpc_stubs import preprocess_v1_pb2 as pre_pb
from grpc_stubs import preprocess_v1_pb2_grpc as pre_grpc
from imagescaler.cli.bench.runner import local_system
from imagescaler.grpc_runtime.options import CLIENT_MESSAGE_LIMIT, message_size_options

CALLS = 300
PHOTO = Path(__file__).resolve().parents[1].parent / "shared" / "images" / "bird_1920x1080.jpg"


def small_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.open(PHOTO).resize((640, 360)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(label: str) -> None:
    data = small_jpeg()
    request = pre_pb.PreprocessRequest(image=pre_pb.ImageInput(content=data), profile="yolo-640")
    options = message_size_options(CLIENT_MESSAGE_LIMIT)
    with local_system() as system, grpc.insecure_channel(system.api_address, options) as channel:
        stub = pre_grpc.PreprocessorStub(channel)
        for _ in range(20):
            stub.Preprocess(request, timeout=60)
        api = system.pids["API"]
        cpu, started = cpu_seconds(api), time.perf_counter()
        for _ in range(CALLS):
            stub.Preprocess(request, timeout=60)
        one = (time.perf_counter() - started) / CALLS
        api_ms = (cpu_seconds(api) - cpu) / CALLS * 1000

        def half() -> None:
            for _ in range(CALLS // 2):
                stub.Preprocess(request, timeout=60)

        started = time.perf_counter()
        callers = [threading.Thread(target=half) for _ in range(2)]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join()
        two = CALLS / (time.perf_counter() - started)
        items = (
            pre_pb.StreamRequest(id=str(n), image=request.image, profile="yolo-640")
            for n in range(CALLS)
        )
        started = time.perf_counter()
        answered = sum(1 for r in stub.PreprocessStream(items, timeout=300) if r.code == 0)
        stream = answered / (time.perf_counter() - started)
    print(
        f"{label}: yolo-640 on a 640x360 JPEG (4.9 MB float32 replies): API CPU {api_ms:.2f} "
        f"ms/request, c=1 {one * 1000:.1f} ms, c=2 {two:.1f} req/s, "
        f"PreprocessStream {stream:.1f} images/s"
    )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "run")
