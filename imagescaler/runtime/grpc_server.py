"""What every gRPC server and client here shares: message limits, health, reflection, shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import CollectorRegistry

from imagescaler.runtime.grpc_interceptors import ClientInterceptor, Drain, ServerInterceptor
from imagescaler.runtime.grpc_metrics import GrpcMetrics
from imagescaler.runtime.grpc_options import client_options, server_options
from imagescaler.runtime.metrics_http import MetricsEndpoint

logger = logging.getLogger(__name__)


def create_grpc_server(
    max_message_bytes: int,
    registry: CollectorRegistry | None = None,
    max_connection_age: float = 60.0,
    drain: Drain | None = None,
) -> Any:
    """An asyncio gRPC server with raised message limits and the observing interceptor."""
    metrics = GrpcMetrics(registry, "server") if registry is not None else None
    return grpc.aio.server(
        interceptors=[ServerInterceptor(metrics, drain)],
        options=server_options(max_message_bytes, max_connection_age),
    )


def create_channel(
    target: str, max_message_bytes: int, registry: CollectorRegistry | None = None
) -> Any:
    """An asyncio channel: round_robin with retries on UNAVAILABLE, keepalive, the request id
    passed on, client metrics recorded."""
    metrics = GrpcMetrics(registry, "client") if registry is not None else None
    return grpc.aio.insecure_channel(
        target,
        options=client_options(max_message_bytes),
        interceptors=[ClientInterceptor(metrics)],
    )


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


async def start_server(
    server: Any,
    address: str,
    service_names: Sequence[str],
    cleanups: Sequence[Cleanup] = (),
    *,
    metrics_listen: str = "",
    registry: CollectorRegistry | None = None,
    drain: Drain | None = None,
    drain_delay: float = 0.0,
) -> RunningServer:
    """Add health and reflection, bind `address` (port 0 picks one), start, mark SERVING;
    serve `registry` at metrics_listen unless it is empty."""
    health = add_health_and_reflection(server, service_names)
    port = bind(server, address)
    metrics = MetricsEndpoint(metrics_listen, registry) if metrics_listen and registry else None
    await server.start()
    await mark_serving(health, service_names)
    return RunningServer(server, port, health, cleanups, metrics, drain or Drain(), drain_delay)
