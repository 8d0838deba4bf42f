"""The one gRPC server runtime: start_service() for tests, run_service() for main()."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import CollectorRegistry

from imagescaler.grpc_runtime.admission import CallAdmission, StreamLimits
from imagescaler.grpc_runtime.auth import BearerAuth
from imagescaler.grpc_runtime.interceptor_base import Drain
from imagescaler.grpc_runtime.interceptors import server_interceptors
from imagescaler.grpc_runtime.metrics import GrpcMetrics
from imagescaler.grpc_runtime.options import server_options
from imagescaler.runtime.bearer_tokens import TokenVerifier
from imagescaler.runtime.logging_setup import configure_logging
from imagescaler.runtime.memory_tuning import MallocProfile, tune_malloc
from imagescaler.runtime.metrics_http import MetricsEndpoint

logger = logging.getLogger(__name__)


def add_health_and_reflection(server: Any, service_names: Sequence[str]) -> Any:
    """Register grpc.health.v1 (NOT_SERVING until marked ready) and server reflection."""
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )
    return health_servicer


async def mark_serving(health_servicer: Any, service_names: Sequence[str]) -> None:
    for name in ("", *service_names):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)


def bind(server: Any, address: str) -> int:
    """Bind `address` (port 0 picks a free one) and return the port, or fail loudly."""
    port: int = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"could not listen on {address}")
    return port


Cleanup = Callable[[], Awaitable[None]]


@dataclass
class RunningServer:
    """A started server, its port, its health servicer and what to close after it stops."""

    server: Any
    port: int
    health: Any
    cleanups: Sequence[Cleanup] = ()
    metrics: MetricsEndpoint | None = None
    drain: Drain = field(default_factory=Drain)
    drain_delay: float = 0.0

    @property
    def metrics_port(self) -> int | None:
        return self.metrics.port if self.metrics else None

    async def stop(self, grace: float | None = None) -> None:
        """NOT_SERVING and refusing new work (UNAVAILABLE, which clients retry elsewhere) for
        drain_delay seconds, so balancers and probes see it; then stop, giving in-flight calls
        up to `grace` seconds."""
        self.drain.active = True
        await self.health.enter_graceful_shutdown()
        await asyncio.sleep(self.drain_delay)
        await self.server.stop(grace)
        for cleanup in self.cleanups:
            await cleanup()
        if self.metrics is not None:
            await asyncio.to_thread(self.metrics.close)

    async def serve_until_signalled(self, grace: float) -> None:
        """Run until SIGTERM or SIGINT, then stop gracefully."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        logger.info("shutting down: NOT_SERVING, draining for up to %.1f s", grace)
        await self.stop(grace)


class GrpcServiceConfig(Protocol):
    """What the runtime reads from a gRPC service's (frozen) settings."""

    @property
    def listen(self) -> str: ...
    @property
    def metrics_listen(self) -> str: ...
    @property
    def max_connection_age(self) -> float: ...
    @property
    def max_connection_age_grace(self) -> float: ...
    @property
    def drain_delay(self) -> float: ...
    @property
    def shutdown_grace(self) -> float: ...
    @property
    def log_format(self) -> str: ...
    @property
    def log_level(self) -> str: ...
    @property
    def max_message_bytes(self) -> int: ...
    @property
    def max_calls_in_flight(self) -> int: ...
    @property
    def max_streams_in_flight(self) -> int: ...
    @property
    def max_streams_per_client(self) -> int: ...
    @property
    def max_request_bytes_in_flight(self) -> int: ...


AddServicers = Callable[[Any], Sequence[str]]  # registers on the server; returns service names


async def start_service(
    settings: GrpcServiceConfig,
    add_servicers: AddServicers,
    cleanups: Sequence[Cleanup] = (),
    registry: CollectorRegistry | None = None,
    verifier: TokenVerifier | None = None,
) -> RunningServer:
    """A started asyncio gRPC server with everything a service here has: raised message
    limits, the interceptors, a max connection age, health (SERVING once started, NOT_SERVING
    while draining), reflection, and /metrics on settings.metrics_listen unless it is empty.
    Port 0 in settings.listen picks a free port (RunningServer.port says which). With a
    `verifier`, every call but health and reflection needs a bearer token it accepts."""
    registry = registry if registry is not None else CollectorRegistry()
    drain = Drain()
    metrics = GrpcMetrics(registry, "server")
    streams = StreamLimits(settings.max_streams_in_flight, settings.max_streams_per_client)
    admission = CallAdmission(
        settings.max_calls_in_flight,
        settings.max_request_bytes_in_flight,
        metrics,
        streams=streams,
    )
    authentication = [BearerAuth(verifier, metrics)] if verifier is not None else []
    server = grpc.aio.server(
        interceptors=[*authentication, admission, *server_interceptors(metrics, drain)],
        options=server_options(
            settings.max_message_bytes,
            settings.max_connection_age,
            settings.max_calls_in_flight,
            settings.max_connection_age_grace,
        ),
    )
    names = add_servicers(server)
    health = add_health_and_reflection(server, names)
    port = bind(server, settings.listen)
    listen = settings.metrics_listen
    endpoint = MetricsEndpoint(listen, registry) if listen else None
    await server.start()
    await mark_serving(health, names)
    return RunningServer(server, port, health, cleanups, endpoint, drain, settings.drain_delay)


StartService = Callable[[Any, CollectorRegistry], Awaitable[RunningServer]]


def run_service(
    name: str,
    settings: GrpcServiceConfig,
    start: StartService,
    malloc: MallocProfile,
    summary: str = "",
) -> None:
    """main() of a gRPC service: process set-up, start, serve until SIGTERM/SIGINT, drain."""
    tune_malloc(malloc)
    configure_logging(settings.log_format, settings.log_level, name)
    asyncio.run(_serve(name, settings, start, summary))


async def _serve(name: str, settings: GrpcServiceConfig, start: StartService, summary: str) -> None:
    running = await start(settings, CollectorRegistry())
    # `imagescaler up` and the tests read the bound ports (port 0 picks one) from these lines.
    if running.metrics is not None:
        logger.info(
            "%s metrics on %s (port %d)", name, settings.metrics_listen, running.metrics.port
        )
    logger.info(
        "%s listening on %s (port %d)%s",
        name,
        settings.listen,
        running.port,
        summary and f": {summary}",
    )
    await running.serve_until_signalled(settings.shutdown_grace)
    logger.info("%s stopped", name)
