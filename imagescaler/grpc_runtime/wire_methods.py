"""Registering a generated servicer with chosen methods changed on the wire: replies that may
be returned already serialised (bytes), as well as messages (a reply passed through from
another service, or one whose large field was written onto the wire without a copy), and
requests whose one large bytes field is parsed apart (`imagescaler.messages.payload_apart`),
so that a handler can hand it on and keep no copy."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

import grpc


def raw_capable(serializer: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    def serialize(reply: Any) -> bytes:
        return reply if isinstance(reply, bytes) else serializer(reply)

    return serialize


def _changed(
    handler: grpc.RpcMethodHandler,
    raw_replies: bool,
    deserializer: Callable[[bytes], Any] | None,
) -> grpc.RpcMethodHandler:
    serializer = raw_capable(handler.response_serializer) if raw_replies else None
    serializer = serializer or handler.response_serializer
    deserializer = deserializer or handler.request_deserializer
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(handler.unary_unary, deserializer, serializer)
    return grpc.stream_stream_rpc_method_handler(handler.stream_stream, deserializer, serializer)


class _ChangingServer:
    """Stands in for the server while a generated add_*_to_server function registers."""

    def __init__(
        self,
        server: Any,
        raw_replies: Collection[str],
        deserializers: Mapping[str, Callable[[bytes], Any]],
    ) -> None:
        self._server = server
        self._raw_replies = raw_replies
        self._deserializers = deserializers

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        pass  # the generated code registers the same handlers by name just after

    def add_registered_method_handlers(self, service: str, handlers: dict[str, Any]) -> None:
        changed = {
            name: _changed(handler, name in self._raw_replies, self._deserializers.get(name))
            if name in self._raw_replies or name in self._deserializers
            else handler
            for name, handler in handlers.items()
        }
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(service, changed),)
        )
        self._server.add_registered_method_handlers(service, changed)


def add_servicer(
    add_to_server: Callable[[Any, Any], None],
    servicer: Any,
    server: Any,
    *,
    raw_replies: Collection[str] = (),
    deserializers: Mapping[str, Callable[[bytes], Any]] | None = None,
) -> None:
    """add_to_server(servicer, server), the `raw_replies` methods allowed to return bytes and
    the requests of the methods in `deserializers` parsed by them."""
    add_to_server(servicer, _ChangingServer(server, raw_replies, deserializers or {}))
