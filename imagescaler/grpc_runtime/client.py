"""The one gRPC client runtime: channels, one translation of upstream errors, one health check,
and the base class of every client of a service further down."""

from __future__ import annotations

from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import CollectorRegistry

from imagescaler.grpc_runtime.auth import bearer_metadata
from imagescaler.grpc_runtime.interceptor_base import REASON_KEY
from imagescaler.grpc_runtime.interceptors import ClientInterceptor
from imagescaler.grpc_runtime.metrics import GrpcMetrics
from imagescaler.grpc_runtime.options import client_options
from imagescaler.runtime.errors import UpstreamError

HEALTH_TIMEOUT = 2.0


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


def upstream_error(error: Any, peer: str, reason_prefix: str, timeout: float) -> UpstreamError:
    """A failed call as an UpstreamError with the same status. The peer's own reason (trailing
    metadata) is kept; a peer that is down or too slow, and so said nothing, gets ours."""
    code: grpc.StatusCode = error.code()
    reason = dict(error.trailing_metadata() or ()).get(REASON_KEY)
    if reason is None and code == grpc.StatusCode.UNAVAILABLE:
        return UpstreamError(
            code.name, f"the {peer} is unavailable; retry shortly", f"{reason_prefix}_unavailable"
        )
    if reason is None and code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return UpstreamError(
            code.name, f"the {peer} did not answer within {timeout:g} s", f"{reason_prefix}_timeout"
        )
    return UpstreamError(
        code.name, error.details() or code.name.lower(), reason or code.name.lower()
    )


async def serving(channel: Any) -> bool:
    """Whether grpc.health.v1 behind `channel` (an asyncio channel) says SERVING."""
    try:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=HEALTH_TIMEOUT
        )
    except grpc.aio.AioRpcError:
        return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def health_status_at(address: str, timeout: float = HEALTH_TIMEOUT) -> str:
    """grpc.health.v1's answer at `address` from blocking code (probe, up, tests), on a channel
    of its own: SERVING, NOT_SERVING, ..., or the call's error code (UNAVAILABLE, ...)."""
    with grpc.insecure_channel(address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=timeout
            )
        except grpc.RpcError as error:
            return str(error.code().name)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


def serving_at(address: str, timeout: float = HEALTH_TIMEOUT) -> bool:
    return health_status_at(address, timeout) == "SERVING"


class UpstreamClient:
    """A long-lived channel to a service further down, opened on first use inside the event
    loop that makes the calls; failures come back as UpstreamError."""

    peer = "upstream service"
    reason_prefix = "upstream"

    def __init__(
        self,
        target: str,
        max_message_bytes: int,
        timeout: float,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.target = target
        self.timeout = timeout
        self._max_message_bytes = max_message_bytes
        self._registry = registry
        self._channel: Any = None

    @property
    def channel(self) -> Any:
        if self._channel is None:
            self._channel = create_channel(self.target, self._max_message_bytes, self._registry)
        return self._channel

    async def call(self, method: Any, request: Any, token: str | None = None) -> Any:
        """`method` is a stub's method on self.channel; its failure becomes an UpstreamError.
        `token` goes with the call as its bearer token."""
        try:
            return await method(request, timeout=self.timeout, metadata=bearer_metadata(token))
        except grpc.aio.AioRpcError as error:
            raise upstream_error(error, self.peer, self.reason_prefix, self.timeout) from None

    async def ready(self) -> bool:
        return await serving(self.channel)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
