"""PreprocessStream's throughput on loopback, and the in-process pool doing the same work."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc

from grpc_stubs import preprocess_v1_pb2 as pre_pb
from grpc_stubs import preprocess_v1_pb2_grpc as pre_grpc
from imagescaler.grpc_runtime.options import CLIENT_MESSAGE_LIMIT, message_size_options
from imagescaler.imaging.builtin_profiles import default_profile
from imagescaler.imaging.preprocess import preprocess

PROFILE = "default"  # the same work as `ours`: 1024x768 gray JPEG


def stream_throughput(api_address: str, data: bytes, images: int) -> dict[str, Any]:
    """Images per second of one stream of `images` copies of `data`, and its error codes."""
    options = message_size_options(CLIENT_MESSAGE_LIMIT)
    with grpc.insecure_channel(api_address, options=options) as channel:
        stub = pre_grpc.PreprocessorStub(channel)
        image = pre_pb.ImageInput(content=data)
        stub.Preprocess(pre_pb.PreprocessRequest(image=image, profile=PROFILE), timeout=60)
        requests = (
            pre_pb.StreamRequest(id=str(n), image=image, profile=PROFILE) for n in range(images)
        )
        started = time.perf_counter()
        codes = Counter(reply.code for reply in stub.PreprocessStream(requests, timeout=600))
        elapsed = time.perf_counter() - started
    errors = {str(code): count for code, count in codes.items() if code}
    return {"images": images, "images_per_second": images / elapsed, "errors": errors}


def pool_throughput(data: bytes, workers: int, images: int) -> float:
    """Images per second of `workers` threads running preprocess() with the same profile."""
    profile = default_profile()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda _: preprocess(data, profile), range(workers)))  # warm
        started = time.perf_counter()
        list(pool.map(lambda _: preprocess(data, profile), range(images)))
        return images / (time.perf_counter() - started)


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_per_image(
    run: Callable[[], Any], pids: Mapping[str, int], images: int
) -> tuple[Any, dict[str, float]]:
    """What `run()` returns, and the CPU milliseconds per image that each process in `pids`
    and this one ("client": the caller's threads, gRPC's included) used while it ran."""
    before = {name: process_cpu_seconds(pid) for name, pid in pids.items()}
    own = time.process_time()
    result = run()
    spent = {"client": time.process_time() - own}
    spent |= {name: process_cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    return result, {name: 1000 * seconds / images for name, seconds in spent.items()}
