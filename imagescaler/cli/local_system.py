"""`imagescaler up`: the whole system on this machine, as child processes, stopped together."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from grpc_api.settings import ApiSettings
from image_service.settings import ImageServiceSettings
from imagescaler.cli import local_prometheus
from imagescaler.cli.process_death import die_with_parent
from imagescaler.runtime.grpc_client import serving_at
from rest_gateway import dev_state
from rest_gateway.settings import GatewaySettings

READY_TIMEOUT = 30.0


@dataclass
class Child:
    name: str
    address: str  # where this machine reaches it
    process: subprocess.Popen[bytes]

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with code {self.process.returncode}")


def local_target(listen: str) -> str:
    """Where to reach a service on this machine that listens on `listen`."""
    host, _, port = listen.rpartition(":")
    return f"127.0.0.1:{port}" if host in ("0.0.0.0", "[::]", "") else listen


def start_child(name: str, subcommand: str, listen: str, *flags: str, quiet: bool = False) -> Child:
    # A session of its own, so Ctrl-C reaches only us and we stop the children in order;
    # and a death signal, so they stop too if we are killed without a chance to stop them.
    process = subprocess.Popen(
        [sys.executable, "-m", "imagescaler", subcommand, "--listen", listen, *flags],
        start_new_session=True,
        stderr=subprocess.DEVNULL if quiet else None,
        preexec_fn=die_with_parent,  # noqa: PLW1509 - called before any thread starts in up
    )
    return Child(name, local_target(listen), process)


def wait_until_serving(child: Child, deadline: float) -> None:
    """Poll the gRPC health service until it says SERVING."""
    while time.monotonic() < deadline:
        child.check_alive()
        if serving_at(child.address, timeout=1.0):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{child.name} did not become ready at {child.address}")


def wait_until_http_ready(child: Child, deadline: float) -> None:
    """Poll /readyz until it answers 200."""
    while time.monotonic() < deadline:
        child.check_alive()
        try:
            with urllib.request.urlopen(f"http://{child.address}/readyz", timeout=1) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
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


def print_banner(
    api: ApiSettings, image: ImageServiceSettings, gateway: GatewaySettings, dev: dev_state.DevState
) -> None:
    web = local_target(gateway.listen)
    print(
        f"""
imagescaler is running.
  upload page    http://{web}/   (sign in as {dev.username} / {dev.password})
  REST + docs    http://{web}/docs
  API            {api.listen}  gRPC imagescaler.ImageScaler
                 (target {api.target_size}, grayscale {api.grayscale}, margin {api.margin:g})
  image service  {image.listen}  gRPC imagescaler.image.v1.ImageService
  metrics        http://{web}/metrics, http://{local_target(api.metrics_listen)}/metrics, \
http://{local_target(image.metrics_listen)}/metrics

Try it from another terminal:
  .venv/bin/imagescaler client ../shared/images/hotdog_1400x1316.jpg -o out.jpg
  TOKEN=$(.venv/bin/imagescaler token --sub me)
  curl -H "Authorization: Bearer $TOKEN" -F file=@../shared/images/hotdog_1400x1316.jpg \\
       http://{web}/v1/scale -o out.jpg

Press Ctrl-C to stop.""",
        flush=True,
    )


def start_all(  # noqa: PLR0917 - one argument per service, read in order
    image: ImageServiceSettings,
    api: ApiSettings,
    gateway: GatewaySettings,
    state_file: str,
    gateway_flags: tuple[str, ...] = (),
    quiet: bool = False,
) -> list[Child]:
    """Start the services in dependency order, each pointed at the one behind it."""
    deadline = time.monotonic() + READY_TIMEOUT
    children: list[Child] = []
    try:
        image_flags = ["--metrics-listen", image.metrics_listen]
        children.append(
            start_child("image service", "image-service", image.listen, *image_flags, quiet=quiet)
        )
        wait_until_serving(children[-1], deadline)
        api_flags = [
            "--image-service",
            local_target(image.listen),
            "--metrics-listen",
            api.metrics_listen,
        ]
        children.append(start_child("API", "api", api.listen, *api_flags, quiet=quiet))
        wait_until_serving(children[-1], deadline)
        links = ["--api", local_target(api.listen), "--dev-state-file", state_file, *gateway_flags]
        children.append(start_child("gateway", "gateway", gateway.listen, *links, quiet=quiet))
        wait_until_http_ready(children[-1], deadline)
    except BaseException:
        stop_children(children, 5)
        raise
    return children


def start_prometheus(
    image: ImageServiceSettings, api: ApiSettings, gateway: GatewaySettings, listen: str
) -> Child | None:
    """Prometheus scraping the three services, when Debian's `prometheus` is installed."""
    command = local_prometheus.find_prometheus()
    if command is None:
        print("Prometheus is not installed (apt-get install prometheus); running without it.")
        return None
    targets = local_prometheus.ScrapeTargets(
        local_target(image.metrics_listen),
        local_target(api.metrics_listen),
        local_target(gateway.listen),
    )
    folder = Path(".imagescaler") / "prometheus"
    config = local_prometheus.write_config(targets, folder)
    process = local_prometheus.start_prometheus(command, config, listen, folder / "data")
    return Child("Prometheus", local_target(listen), process)


def run(args: argparse.Namespace) -> int:
    """`imagescaler up`: start everything, print where it is, stop it all on Ctrl-C."""
    prometheus, prometheus_listen = args.prometheus, args.prometheus_listen
    image, api, gateway = ImageServiceSettings(), ApiSettings(), GatewaySettings()
    state_file = gateway.dev_state_file or dev_state.DEFAULT_PATH
    dev = dev_state.load_or_create(state_file)
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        children = start_all(image, api, gateway, str(state_file))
    except RuntimeError as error:
        print(f"could not start: {error}", file=sys.stderr)
        return 1
    if prometheus and (scraper := start_prometheus(image, api, gateway, prometheus_listen)):
        children.append(scraper)
    print_banner(api, image, gateway, dev)
    if prometheus and len(children) > 3:
        print(f"  Prometheus     http://{children[-1].address}/  (rules: job:*; see the README)")
    try:
        while not stopping:
            for child in children:
                child.check_alive()
            time.sleep(0.2)
    except RuntimeError as error:
        print(f"{error}; stopping", file=sys.stderr)
        return 1
    finally:
        print("stopping...", flush=True)
        stop_children(children, max(s.shutdown_grace for s in (image, api, gateway)) + 5)
    return 0
