"""The interceptor chain on a real server: an unexpected failure is INTERNAL with a generic
message (the traceback only in the log), a ServiceError its own status, unary or streaming."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest
from prometheus_client import CollectorRegistry

from imagescaler.grpc_runtime.interceptor_base import Drain
from imagescaler.grpc_runtime.interceptors import server_interceptors
from imagescaler.grpc_runtime.metrics import GrpcMetrics
from imagescaler.runtime.errors import UnknownProfile
from tests.support.loop import LoopThread

IDENTITY = {"request_deserializer": bytes, "response_serializer": bytes}


async def broken(request: bytes, context: Any) -> bytes:
    raise ValueError("a secret detail that must not reach the client")


async def refusing(request: bytes, context: Any) -> bytes:
    raise UnknownProfile("there is no profile 'x'")


async def broken_stream(requests: Any, context: Any) -> AsyncIterator[bytes]:
    yield b"first"
    raise ValueError("a secret detail that must not reach the client")


@pytest.fixture
def port(loop_thread: LoopThread) -> Iterator[int]:
    async def start() -> Any:
        server = grpc.aio.server(
            interceptors=server_interceptors(GrpcMetrics(CollectorRegistry(), "server"), Drain())
        )
        handlers = {
            "Broken": grpc.unary_unary_rpc_method_handler(broken, **IDENTITY),
            "Refusing": grpc.unary_unary_rpc_method_handler(refusing, **IDENTITY),
            "BrokenStream": grpc.stream_stream_rpc_method_handler(broken_stream, **IDENTITY),
        }
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("t.T", handlers),))
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        return server, port

    server, bound = loop_thread.run(start())
    yield bound
    loop_thread.run(server.stop(0))


def call(port: int, method: str, stream: bool = False) -> grpc.RpcError:
    with (
        grpc.insecure_channel(f"127.0.0.1:{port}") as channel,
        pytest.raises(grpc.RpcError) as caught,
    ):
        if stream:
            list(channel.stream_stream(f"/t.T/{method}")(iter([b"x"]), timeout=10))
        else:
            channel.unary_unary(f"/t.T/{method}")(b"x", timeout=10)
    return caught.value


@pytest.mark.parametrize(("method", "stream"), [("Broken", False), ("BrokenStream", True)])
def test_an_unexpected_failure_is_internal_and_logged_not_told(
    port: int, method: str, stream: bool, caplog: pytest.LogCaptureFixture
) -> None:
    error = call(port, method, stream)
    assert error.code() == grpc.StatusCode.INTERNAL and error.details() == "internal error"
    logged = [r for r in caplog.records if "unexpected error in /t.T/" in r.getMessage()]
    assert logged and logged[0].exc_info is not None  # the traceback is in the log


def test_a_service_error_keeps_its_status_and_reason(port: int) -> None:
    error = call(port, "Refusing")
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == "there is no profile 'x'"
    assert dict(error.trailing_metadata() or ())["imagescaler-reason"] == "unknown_profile"  # type: ignore[call-overload]
