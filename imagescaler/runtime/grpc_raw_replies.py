"""Registering a generated servicer so that chosen methods may return their replies already
serialised (bytes), as well as messages: a reply passed through from another service, or one
whose large field was written onto the wire without a copy (imagescaler/messages.py)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import grpc


def raw_capable(serializer: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    def serialize(reply: Any) -> bytes:
        return reply if isinstance(reply, bytes) else serializer(reply)

    return serialize


def _with_raw_replies(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    serializer = raw_capable(handler.response_serializer)
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(
            handler.unary_unary, handler.request_deserializer, serializer
        )
    return grpc.stream_stream_rpc_method_handler(
        handler.stream_stream, handler.request_deserializer, serializer
    )


class _RawRepliesServer:
    """Stands in for the server while a generated add_*_to_server function registers."""

    def __init__(self, server: Any, methods: Collection[str]) -> None:
        self._server = server
        self._methods = methods

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        pass  # the generated code registers the same handlers by name just after

    def add_registered_method_handlers(self, service: str, handlers: dict[str, Any]) -> None:
        changed = {
            name: _with_raw_replies(handler) if name in self._methods else handler
            for name, handler in handlers.items()
        }
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(service, changed),)
        )
        self._server.add_registered_method_handlers(service, changed)


def add_with_raw_replies(
    add_to_server: Callable[[Any, Any], None], servicer: Any, server: Any, methods: Collection[str]
) -> None:
    """add_to_server(servicer, server), `methods` allowed to return bytes."""
    add_to_server(servicer, _RawRepliesServer(server, methods))
