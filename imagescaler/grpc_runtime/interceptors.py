"""gRPC interceptors, one job each: request context, log line, metrics, errors to status and
drain on the server (around unary and streaming calls); request id and metrics on the client.

Server order, outermost first: RequestContext -> RequestLog -> Metrics -> ErrorStatus ->
Drain -> the servicer. ErrorStatus is the one place a ServiceError becomes a status."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc

from imagescaler.grpc_runtime.interceptor_base import (
    REASON_KEY,
    Behaviour,
    CallInterceptor,
    Drain,
    StreamBehaviour,
    code_name,
    on_finish,
)
from imagescaler.grpc_runtime.metrics import GrpcMetrics, split_method
from imagescaler.runtime.errors import ServiceError, ShuttingDown, reason_of, status_name_of
from imagescaler.runtime.request_context import (
    REQUEST_ID_HEADER,
    annotate,
    begin_request,
    current_request_id,
    request_fields,
)
from imagescaler.runtime.request_log import log_request

logger = logging.getLogger(__name__)


class RequestContextInterceptor(CallInterceptor):
    """The caller's request id (or a new one), and empty fields for the log line."""

    async def around(
        self, behaviour: Behaviour, request: Any, context: Any, service: str, method: str
    ) -> Any:
        begin_request(dict(context.invocation_metadata() or ()).get(REQUEST_ID_HEADER))
        return await behaviour(request, context)

    async def around_stream(
        self, behaviour: StreamBehaviour, requests: Any, context: Any, service: str, method: str
    ) -> AsyncIterator[Any]:
        begin_request(dict(context.invocation_metadata() or ()).get(REQUEST_ID_HEADER))
        async for reply in behaviour(requests, context):
            yield reply


class RequestLogInterceptor(CallInterceptor):
    """One log line per call, with the fields the servicer annotated."""

    async def around(
        self, behaviour: Behaviour, request: Any, context: Any, service: str, method: str
    ) -> Any:
        started = time.perf_counter()

        def finish(code: str) -> None:
            log_request(
                request_id=current_request_id(),
                method=f"{service}/{method}",
                status=code,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
                **request_fields(),
            )

        with on_finish(context, finish):
            return await behaviour(request, context)

    async def around_stream(
        self, behaviour: StreamBehaviour, requests: Any, context: Any, service: str, method: str
    ) -> AsyncIterator[Any]:
        started = time.perf_counter()
        replies = 0

        def finish(code: str) -> None:
            log_request(
                request_id=current_request_id(),
                method=f"{service}/{method}",
                status=code,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
                replies=replies,
                **request_fields(),
            )

        with on_finish(context, finish):
            async for reply in behaviour(requests, context):
                replies += 1
                yield reply


class MetricsInterceptor(CallInterceptor):
    """Counts and times every call, and counts refusals by reason."""

    def __init__(self, metrics: GrpcMetrics) -> None:
        self._metrics = metrics

    async def around(
        self, behaviour: Behaviour, request: Any, context: Any, service: str, method: str
    ) -> Any:
        self._metrics.begin(service, method)
        started = time.perf_counter()

        def finish(code: str) -> None:
            self._metrics.end(service, method, code, time.perf_counter() - started)
            reason = request_fields().get("reason")
            if reason is not None:
                self._metrics.rejected.labels(service, method, reason).inc()

        with on_finish(context, finish):
            return await behaviour(request, context)

    async def around_stream(
        self, behaviour: StreamBehaviour, requests: Any, context: Any, service: str, method: str
    ) -> AsyncIterator[Any]:
        self._metrics.begin(service, method)
        started = time.perf_counter()

        def finish(code: str) -> None:
            self._metrics.end(service, method, code, time.perf_counter() - started)

        with on_finish(context, finish):
            async for reply in behaviour(requests, context):
                yield reply


class ErrorStatusInterceptor(CallInterceptor):
    """The one place a ServiceError becomes a status (and a reason in the trailing metadata);
    anything unexpected is logged with its traceback and answered INTERNAL."""

    async def around(
        self, behaviour: Behaviour, request: Any, context: Any, service: str, method: str
    ) -> Any:
        try:
            return await behaviour(request, context)
        except (grpc.aio.AbortError, asyncio.CancelledError):
            raise
        except Exception as error:
            await abort_for(error, context, service, method)

    async def around_stream(
        self, behaviour: StreamBehaviour, requests: Any, context: Any, service: str, method: str
    ) -> AsyncIterator[Any]:
        try:
            async for reply in behaviour(requests, context):
                yield reply
        except (grpc.aio.AbortError, asyncio.CancelledError, GeneratorExit):
            raise
        except Exception as error:
            await abort_for(error, context, service, method)


async def abort_for(error: Exception, context: Any, service: str, method: str) -> None:
    """End the call with the error's status and reason, or INTERNAL for an unexpected one."""
    if isinstance(error, ServiceError):
        annotate(reason=reason_of(error))
        context.set_trailing_metadata(((REASON_KEY, reason_of(error)),))
        await context.abort(grpc.StatusCode[status_name_of(error)], error.message)
    logger.error("unexpected error in /%s/%s", service, method, exc_info=error)
    await context.abort(grpc.StatusCode.INTERNAL, "internal error")


class DrainInterceptor(CallInterceptor):
    """While draining, new work is refused with UNAVAILABLE, which clients retry elsewhere."""

    def __init__(self, drain: Drain) -> None:
        self._drain = drain

    async def around(
        self, behaviour: Behaviour, request: Any, context: Any, service: str, method: str
    ) -> Any:
        if self._drain.active:
            raise ShuttingDown("this replica is shutting down; retry (another replica)")
        return await behaviour(request, context)

    async def around_stream(
        self, behaviour: StreamBehaviour, requests: Any, context: Any, service: str, method: str
    ) -> AsyncIterator[Any]:
        if self._drain.active:
            raise ShuttingDown("this replica is shutting down; retry (another replica)")
        async for reply in behaviour(requests, context):
            yield reply


def server_interceptors(metrics: GrpcMetrics, drain: Drain) -> list[CallInterceptor]:
    return [
        RequestContextInterceptor(),
        RequestLogInterceptor(),
        MetricsInterceptor(metrics),
        ErrorStatusInterceptor(),
        DrainInterceptor(drain),
    ]


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
            code = code_name(await call.code())
            return call
        finally:
            if self._metrics:
                self._metrics.end(service, name, code, time.perf_counter() - started)
