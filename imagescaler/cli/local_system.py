"""`imagescaler up`: the whole system on this machine, as child processes, stopped together.

Any service may listen on port 0: each says which port it bound, and `up` points the next
one at it and prints the real addresses."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from grpc_api.settings import ApiSettings
from image_service.settings import ImageServiceSettings
from imagescaler.cli import local_prometheus
from imagescaler.cli.local_children import (
    Child,
    start_child,
    stop_children,
    wait_until_http_ready,
    wait_until_serving,
)
from rest_gateway import dev_state
from rest_gateway.settings import GatewaySettings

READY_TIMEOUT = 30.0
PRIVATE_URLS_WARNING = """
  WARNING: private URLs are allowed (IMAGESCALER_API_ALLOW_PRIVATE_URLS=true): the API
  will fetch from loopback, private and link-local addresses, such as cloud metadata.
  Local development only; never in a deployment."""
IMAGESCALER = (sys.executable, "-m", "imagescaler")


@dataclass(frozen=True)
class LocalSystem:
    """The three running services, in the order they were started."""

    image_service: Child
    api: Child
    gateway: Child

    @property
    def children(self) -> list[Child]:
        return [self.image_service, self.api, self.gateway]

    def metrics_urls(self) -> list[str]:
        """Every service's /metrics, each on its own metrics port (none when any is off)."""
        services = (self.gateway, self.api, self.image_service)
        if not all("metrics" in c.ports for c in services):
            return []
        return [f"http://{c.address('metrics')}/metrics" for c in services]


def start_all(
    image: ImageServiceSettings,
    api: ApiSettings,
    gateway: GatewaySettings,
    state_file: str,
    *,
    gateway_flags: tuple[str, ...] = (),
    quiet: bool = False,
) -> LocalSystem:
    """Start the services in dependency order, each pointed at the one behind it."""
    deadline = time.monotonic() + READY_TIMEOUT
    children: list[Child] = []

    def start(name: str, subcommand: str, listen: str, *flags: str) -> Child:
        command = [*IMAGESCALER, subcommand, "--listen", listen, *flags]
        children.append(start_child(name, command, quiet))
        return children[-1]

    try:
        image_child = start(
            "image service", "image-service", image.listen, "--metrics-listen", image.metrics_listen
        )
        wait_until_serving(image_child, deadline)
        api_child = start(
            "API", "api", api.listen, "--metrics-listen", api.metrics_listen,
            "--image-service", image_child.address(),
        )  # fmt: skip
        wait_until_serving(api_child, deadline)
        gateway_child = start(
            "gateway", "gateway", gateway.listen, "--metrics-listen", gateway.metrics_listen,
            "--api", api_child.address(),
            "--dev-state-file", state_file, *gateway_flags,
        )  # fmt: skip
        wait_until_http_ready(gateway_child, deadline)
    except BaseException:
        stop_children(children, 5)
        raise
    return LocalSystem(image_child, api_child, gateway_child)


def print_banner(system: LocalSystem, api: ApiSettings, dev: dev_state.DevState) -> None:
    web = system.gateway.address()
    metrics = ", ".join(system.metrics_urls()) or "off"
    print(
        f"""
imagescaler is running.
  upload page    http://{web}/   (sign in as {dev.username} / {dev.password})
  REST + docs    http://{web}/docs
  API            {system.api.address()}  gRPC imagescaler.ImageScaler
                 (target {api.target_size}, grayscale {api.grayscale}, margin {api.margin:g})
                 and imagescaler.preprocess.v1.Preprocessor (profiles: GET /v1/profiles)
  image service  {system.image_service.address()}  gRPC imagescaler.image.v1.ImageService
  metrics        {metrics}

Try it from another terminal:
  .venv/bin/imagescaler client ../shared/images/hotdog_1400x1316.jpg -o out.jpg
  TOKEN=$(.venv/bin/imagescaler token --sub me)
  curl -H "Authorization: Bearer $TOKEN" -F file=@../shared/images/hotdog_1400x1316.jpg \\
       http://{web}/v1/scale -o out.jpg

Press Ctrl-C to stop.""",
        flush=True,
    )


def start_prometheus(system: LocalSystem, listen: str) -> Child | None:
    """Prometheus scraping the three services, when Debian's `prometheus` is installed."""
    command = local_prometheus.find_prometheus()
    if command is None:
        print("Prometheus is not installed (apt-get install prometheus); running without it.")
        return None
    if not system.metrics_urls():
        print("The services' metrics are off (--metrics-listen ''); running without Prometheus.")
        return None
    targets = local_prometheus.ScrapeTargets(
        system.image_service.address("metrics"),
        system.api.address("metrics"),
        system.gateway.address("metrics"),
    )
    folder = Path(".imagescaler") / "prometheus"
    config = local_prometheus.write_config(targets, folder)
    process = local_prometheus.start_prometheus(command, config, listen, folder / "data")
    return Child("Prometheus", process)


def run(args: argparse.Namespace) -> int:
    """`imagescaler up`: start everything, print where it is, stop it all on Ctrl-C."""
    image, api, gateway = ImageServiceSettings(), ApiSettings(), GatewaySettings()
    state_file = gateway.dev_state_file or dev_state.DEFAULT_PATH
    dev = dev_state.load_or_create(state_file)
    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda signum, frame: stopping.set())
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
    rate = ("--rate-limit", args.rate_limit) if args.rate_limit else ()
    try:
        system = start_all(image, api, gateway, str(state_file), gateway_flags=rate)
    except RuntimeError as error:
        print(f"could not start: {error}", file=sys.stderr)
        return 1
    children = system.children
    if args.prometheus and (scraper := start_prometheus(system, args.prometheus_listen)):
        children.append(scraper)
    print_banner(system, api, dev)
    if api.allow_private_urls:
        print(PRIVATE_URLS_WARNING, flush=True)
    if len(children) > 3:
        print(f"  Prometheus     http://{args.prometheus_listen}/  (rules: job:*; see the README)")
    try:
        while not stopping.wait(0.2):  # a signal, or a child that died
            for child in children:
                child.check_alive()
    except RuntimeError as error:
        print(f"{error}; stopping", file=sys.stderr)
        return 1
    finally:
        print("stopping...", flush=True)
        stop_children(children, max(s.shutdown_grace for s in (image, api, gateway)) + 5)
    return 0
