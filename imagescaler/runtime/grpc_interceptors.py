"""Server and client interceptors: request id, errors to status, metrics, one log line per call."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from imagescaler.runtime.errors import ServiceError, ShuttingDown, reason_of, status_name_of
from imagescaler.runtime.grpc_metrics import GrpcMetrics, split_method
from imagescaler.runtime.request_context import (
    REQUEST_ID_HEADER,
    begin_request,
    current_request_id,
    request_fields,
)

logger = logging.getLogger("imagescaler.requests")
REASON_KEY = "imagescaler-reason"


class Drain:
    """Set when the server starts shutting down: new work is refused, health still answers."""

    def __init__(self) -> None:
        self.active = False


class ServerInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """The one place a service error becomes a status; anything else becomes INTERNAL.

    Around every unary call it also takes the request id from the metadata, counts and
    times the call, and writes one log line with the fields the servicer annotated."""

    def __init__(self, metrics: GrpcMetrics | None = None, drain: Drain | None = None) -> None:
        self._metrics = metrics
        self._drain = drain or Drain()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        service, method = split_method(handler_call_details.method)
        if service == "grpc.health.v1.Health":
            return handler  # probes every second: neither counted nor logged
        observed = _Observed(handler.unary_unary, service, method, self._metrics, self._drain)
        return grpc.unary_unary_rpc_method_handler(
            observed.handle,  # a coroutine function: grpc awaits only what inspect says it must
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class _Observed:
    def __init__(
        self, behaviour: Any, service: str, method: str, metrics: GrpcMetrics | None, drain: Drain
    ) -> None:
        self._behaviour = behaviour
        self._service = service
        self._method = method
        self._metrics = metrics
        self._drain = drain

    async def handle(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        metadata = dict(context.invocation_metadata() or ())
        begin_request(metadata.get(REQUEST_ID_HEADER))
        if self._metrics:
            self._metrics.begin(self._service, self._method)
        started = time.perf_counter()
        code = "OK"
        try:
            if self._drain.active:
                raise ShuttingDown("this replica is shutting down; retry (another replica)")
            return await self._behaviour(request, context)
        except ServiceError as error:
            code = status_name_of(error)
            self._count_rejection(reason_of(error))
            context.set_trailing_metadata(((REASON_KEY, reason_of(error)),))
            await context.abort(grpc.StatusCode[code], error.message)
        except grpc.aio.AbortError:
            code = _code_name(context.code())
            raise
        except asyncio.CancelledError:
            code = "CANCELLED"
            raise
        except Exception:
            code = "INTERNAL"
            logger.exception("unexpected error in /%s/%s", self._service, self._method)
            await context.abort(grpc.StatusCode.INTERNAL, "internal error")
        finally:
            self._finish(code, time.perf_counter() - started)

    def _count_rejection(self, reason: str) -> None:
        if self._metrics:
            self._metrics.rejected.labels(self._service, self._method, reason).inc()

    def _finish(self, code: str, seconds: float) -> None:
        if self._metrics:
            self._metrics.end(self._service, self._method, code, seconds)
        fields = {
            "request_id": current_request_id(),
            "method": f"{self._service}/{self._method}",
            "status": code,
            "duration_ms": round(seconds * 1000, 1),
            **request_fields(),
        }
        logger.info(" ".join(f"{key}={value}" for key, value in fields.items()), extra=fields)


class ClientInterceptor(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """Passes the request id on, and counts and times every outgoing call."""

    def __init__(self, metrics: GrpcMetrics | None = None) -> None:
        self._metrics = metrics

    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        method = client_call_details.method
        service, name = split_method(method.decode() if isinstance(method, bytes) else method)
        metadata = grpc.aio.Metadata(*(client_call_details.metadata or ()))
        metadata.add(REQUEST_ID_HEADER, current_request_id())
        details = client_call_details._replace(metadata=metadata)
        if self._metrics:
            self._metrics.begin(service, name)
        started = time.perf_counter()
        code = "UNKNOWN"
        try:
            call = await continuation(details, request)
            code = _code_name(await call.code())
            return call
        finally:
            if self._metrics:
                self._metrics.end(service, name, code, time.perf_counter() - started)


def _code_name(code: Any) -> str:
    return code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
