"""What every gRPC server and client here shares: message limits, errors to status, shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from imagescaler.errors import ServiceError, reason_of, status_name_of

logger = logging.getLogger(__name__)

REASON_KEY = "imagescaler-reason"
ChannelOptions = list[tuple[str, Any]]


def message_size_options(max_message_bytes: int) -> ChannelOptions:
    """Raise gRPC's 4 MiB default on both directions; used on both ends of every hop."""
    return [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
    ]


class ErrorInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """The one place a service error becomes a status; anything else becomes INTERNAL."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        behaviour = handler.unary_unary
        method = handler_call_details.method

        async def guarded(request: Any, context: grpc.aio.ServicerContext) -> Any:
            try:
                return await behaviour(request, context)
            except ServiceError as error:
                code = grpc.StatusCode[status_name_of(error)]
                context.set_trailing_metadata(((REASON_KEY, reason_of(error)),))
                await context.abort(code, error.message)
            except (grpc.aio.AbortError, asyncio.CancelledError):
                raise
            except Exception:
                logger.exception("unexpected error in %s", method)
                await context.abort(grpc.StatusCode.INTERNAL, "internal error")

        return grpc.unary_unary_rpc_method_handler(
            guarded,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def create_grpc_server(max_message_bytes: int, extra_options: ChannelOptions | None = None) -> Any:
    """An asyncio gRPC server with raised message limits and the error interceptor."""
    return grpc.aio.server(
        interceptors=[ErrorInterceptor()],
        options=[*message_size_options(max_message_bytes), *(extra_options or [])],
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

    async def stop(self, grace: float | None = None) -> None:
        """NOT_SERVING first, so balancers stop sending; then drain in-flight calls for `grace`."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        for cleanup in self.cleanups:
            await cleanup()

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
    server: Any, address: str, service_names: Sequence[str], cleanups: Sequence[Cleanup] = ()
) -> RunningServer:
    """Add health and reflection, bind `address` (port 0 picks one), start, mark SERVING."""
    health = add_health_and_reflection(server, service_names)
    port = bind(server, address)
    await server.start()
    await mark_serving(health, service_names)
    return RunningServer(server, port, health, cleanups)
