"""The base of the server interceptors: one around() for unary calls and one around_stream()
for streaming calls, each wrapping the behaviour below it; and the drain flag."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import grpc

from imagescaler.grpc_runtime.metrics import split_method

REASON_KEY = "imagescaler-reason"
UNOBSERVED_SERVICES = frozenset(
    {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}
)
Behaviour = Callable[[Any, Any], Awaitable[Any]]
StreamBehaviour = Callable[[Any, Any], AsyncIterator[Any]]


class Drain:
    """Set when the server starts shutting down: new work is refused, health still answers."""

    def __init__(self) -> None:
        self.active = False


class CallInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Wraps every unary-unary call in around() and every stream-stream call in
    around_stream(), except health checks (probed every second) and reflection. A subclass
    that must change the handler itself (admission reads the request stream) overrides
    wrap_unary() and wrap_stream() instead."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        service, method = split_method(details.method)
        if handler is None or service in UNOBSERVED_SERVICES:
            return handler
        if handler.unary_unary is not None:
            return self.wrap_unary(handler, service, method)
        if handler.stream_stream is not None:
            return self.wrap_stream(handler, service, method)
        return handler

    def wrap_unary(
        self, handler: grpc.RpcMethodHandler, service: str, method: str
    ) -> grpc.RpcMethodHandler:
        behaviour: Behaviour = handler.unary_unary

        async def intercepted(request: Any, context: grpc.aio.ServicerContext) -> Any:
            return await self.around(behaviour, request, context, service, method)

        return grpc.unary_unary_rpc_method_handler(
            intercepted,  # a coroutine function: grpc awaits only what inspect says it must
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def wrap_stream(
        self, handler: grpc.RpcMethodHandler, service: str, method: str
    ) -> grpc.RpcMethodHandler:
        streaming: StreamBehaviour = handler.stream_stream

        async def intercepted_stream(requests: Any, context: Any) -> AsyncIterator[Any]:
            async for reply in self.around_stream(streaming, requests, context, service, method):
                yield reply

        return grpc.stream_stream_rpc_method_handler(
            intercepted_stream,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    async def around(
        self, behaviour: Behaviour, request: Any, context: Any, service: str, method: str
    ) -> Any:
        return await behaviour(request, context)

    async def around_stream(
        self, behaviour: StreamBehaviour, requests: Any, context: Any, service: str, method: str
    ) -> AsyncIterator[Any]:
        async for reply in behaviour(requests, context):
            yield reply


@contextmanager
def on_finish(context: Any, finish: Callable[[str], None]) -> Iterator[None]:
    """Call finish(status name) once the call inside has ended, however it ended."""
    code = "OK"
    try:
        yield
    except grpc.aio.AbortError:
        code = code_name(context.code())
        raise
    except (asyncio.CancelledError, GeneratorExit):
        code = "CANCELLED"
        raise
    except BaseException:
        code = "UNKNOWN"
        raise
    finally:
        finish(code)


def code_name(code: Any) -> str:
    return code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
