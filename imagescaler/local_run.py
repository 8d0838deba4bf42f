"""`imagescaler up`: the whole system on this machine, as child processes, stopped together."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from grpc_api.settings import ApiSettings
from image_service.settings import ImageServiceSettings

READY_TIMEOUT = 30.0


@dataclass
class Child:
    name: str
    address: str
    process: subprocess.Popen[bytes]


def start_child(name: str, subcommand: str, address: str) -> Child:
    # A session of its own, so Ctrl-C reaches only us and we stop the children in order.
    process = subprocess.Popen(
        [sys.executable, "-m", "imagescaler", subcommand], start_new_session=True
    )
    return Child(name, address, process)


def wait_until_serving(child: Child, deadline: float) -> None:
    with grpc.insecure_channel(child.address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if child.process.poll() is not None:
                raise RuntimeError(f"{child.name} exited with code {child.process.returncode}")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1.0)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"{child.name} did not become ready at {child.address}")


def stop_children(children: list[Child], grace: float) -> None:
    """SIGTERM the front first so it drains, then the rest; SIGKILL what outlives the grace."""
    for child in reversed(children):
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
            try:
                child.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()


def print_banner(api: ApiSettings, image: ImageServiceSettings) -> None:
    print(
        f"""
imagescaler is running.
  image service  {image.listen}  gRPC imagescaler.image.v1.ImageService
  API            {api.listen}  gRPC imagescaler.ImageScaler
                 (target {api.target_size}, grayscale {api.grayscale}, margin {api.margin:g})

Try it from another terminal:
  .venv/bin/imagescaler client ../shared/images/hotdog_1400x1316.jpg -o out.jpg

Press Ctrl-C to stop.""",
        flush=True,
    )


def run() -> int:
    image_settings = ImageServiceSettings()
    api_settings = ApiSettings()
    children: list[Child] = []
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        children.append(start_child("image service", "image-service", image_settings.listen))
        wait_until_serving(children[-1], deadline)
        children.append(start_child("API", "api", api_settings.listen))
        wait_until_serving(children[-1], deadline)
        print_banner(api_settings, image_settings)
        while not stopping:
            for child in children:
                if child.process.poll() is not None:
                    print(
                        f"{child.name} exited with code {child.process.returncode}; stopping",
                        file=sys.stderr,
                    )
                    return 1
            time.sleep(0.2)
        print("stopping...", flush=True)
        return 0
    except RuntimeError as error:
        print(f"could not start: {error}", file=sys.stderr)
        return 1
    finally:
        stop_children(children, max(api_settings.shutdown_grace, image_settings.shutdown_grace) + 5)
