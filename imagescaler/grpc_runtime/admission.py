"""Admission of gRPC calls by count and by request bytes, decided before a message is read.

Each call holds its request message (up to the message limit) from the moment it arrives, so
the calls in flight are what a service's memory follows. Over the count, a call is refused
RESOURCE_EXHAUSTED/overloaded before its message is read: the handler given to gRPC reads
the request stream itself, and a refused call never reads it. Over the bytes, a call is
refused as soon as its message has arrived, which frees it. Health checks and reflection are
never counted or refused, so probes answer however busy the service is. Streams are counted
apart from unary calls, in total and per client address, so that long streams (a slow reader
holds one for as long as it likes) never take the slots of unary calls, and one client cannot
take every stream; each stream message counts its bytes until its reply goes out. When the
last call ends, freed memory goes back to the OS.

gRPC's own `maximum_concurrent_rpcs` is not used: in grpc.aio it makes new calls wait, health
checks included, instead of refusing them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from imagescaler.grpc_runtime.interceptor_base import REASON_KEY, CallInterceptor
from imagescaler.grpc_runtime.metrics import GrpcMetrics
from imagescaler.grpc_runtime.peers import peer_address
from imagescaler.runtime.memory_tuning import TrimWhenIdle

MiB = 1024 * 1024
OVERLOADED = "overloaded"


@dataclass(frozen=True)
class StreamLimits:
    total: int = 8  # streams at once
    per_peer: int = 4  # streams at once from one client address


class CallAdmission(CallInterceptor):
    """The outermost interceptor: at most `max_calls` unary calls, `streams` streams and
    `max_bytes` of their request messages at once; the rest are refused at once with reason
    `overloaded`. A message's size is its length on the wire, taken before it is parsed
    (`ByteSize()` would serialise it again: 19-31 ms for 21 MB)."""

    def __init__(
        self,
        max_calls: int,
        max_bytes: int,
        metrics: GrpcMetrics | None = None,
        stream_wait: float = 10.0,
        streams: StreamLimits | None = None,
    ) -> None:
        self.max_calls = max_calls
        self.max_bytes = max_bytes
        self.stream_wait = stream_wait
        self.stream_limits = streams or StreamLimits()
        self.calls = 0
        self.streams: Counter[str] = Counter()  # by client address
        self.bytes = 0
        self._metrics = metrics
        trims = metrics.memory_trims if metrics is not None else None
        self._trim = TrimWhenIdle(on_trim=trims.inc if trims is not None else None)
        self._freed = asyncio.Event()  # set (and replaced) whenever bytes are released

    def wrap_unary(
        self, handler: grpc.RpcMethodHandler, service: str, method: str
    ) -> grpc.RpcMethodHandler:
        behaviour = handler.unary_unary
        parse = _parser(handler.request_deserializer)

        # Declared as stream-unary so that gRPC leaves the (one) request message unread until
        # this reads it, or never, when the call is refused.
        async def admitted(requests: AsyncIterator[bytes], context: Any) -> Any:
            if self.calls >= self.max_calls:
                await self._refuse(context, service, method, self._too_many())
            self.calls += 1
            self._trim.begin()
            size = 0
            try:
                messages = aiter(requests)
                raw = await anext(messages, None)
                # Close gRPC's receiving generator now: left open, it keeps the message alive
                # in a reference cycle until the garbage collector runs (every 21 MB request
                # then stayed in memory, about ten at a time).
                await messages.aclose()  # type: ignore[attr-defined]
                if raw is None:
                    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "no request message")
                    return None  # abort raises; this line is never reached
                if self.bytes + len(raw) > self.max_bytes:
                    # Let the message go first: the refusal's traceback keeps this frame, and
                    # with it the message, alive until the garbage collector next runs.
                    del raw
                    await self._refuse(context, service, method, self._too_many_bytes())
                size = len(raw)
                self.bytes += size
                request = await parse(raw, context)
                del raw  # parsed: the message (or what its parser kept) is all that is held
                return await behaviour(request, context)
            finally:
                self.calls -= 1
                self._release(size)
                self._trim.end()

        return grpc.stream_unary_rpc_method_handler(
            admitted,
            request_deserializer=None,  # the bytes as they came: parsed once admitted
            response_serializer=handler.response_serializer,
        )

    def wrap_stream(
        self, handler: grpc.RpcMethodHandler, service: str, method: str
    ) -> grpc.RpcMethodHandler:
        """A stream counts as one call, and each of its messages counts its bytes from when it
        is read until a reply goes out. A message that does not fit waits for bytes to be
        freed (the stream is not read meanwhile, so HTTP/2 flow control holds the client
        back); after `stream_wait` seconds the stream is refused."""
        behaviour = handler.stream_stream
        parse = _parser(handler.request_deserializer)

        async def admitted(requests: AsyncIterator[bytes], context: Any) -> AsyncIterator[Any]:
            peer = peer_address(context.peer())
            refusal = self._stream_refusal(peer)
            if refusal is not None:
                await self._refuse(context, service, method, refusal)
            self.streams[peer] += 1
            self._trim.begin()
            held = _StreamBytes(self)
            released = False

            def release(*_: Any) -> None:
                # Once, when the call is done or the generator ends, whichever comes first:
                # a generator cancelled at its yield may only be finalised by the collector.
                nonlocal released
                if not released:
                    released = True
                    held.release_all()
                    self.streams[peer] -= 1
                    if not self.streams[peer]:
                        del self.streams[peer]
                    self._trim.end()

            context.add_done_callback(release)

            async def metered() -> AsyncIterator[Any]:
                async for raw in requests:
                    if not await self._wait_for_bytes(len(raw)):
                        del raw  # as in wrap_unary: not kept alive by the refusal
                        await self._refuse(context, service, method, self._too_many_bytes())
                    held.add(len(raw))
                    message = await parse(raw, context)
                    del raw  # not kept while the stream waits at the yield
                    yield message

            try:
                async for reply in behaviour(metered(), context):
                    held.release_one()
                    yield reply
            finally:
                release()

        return grpc.stream_stream_rpc_method_handler(
            admitted,
            request_deserializer=None,  # the bytes as they came: parsed once admitted
            response_serializer=handler.response_serializer,
        )

    async def _wait_for_bytes(self, size: int) -> bool:
        """Take `size` bytes, waiting up to stream_wait seconds for them; False if they never
        came free."""
        deadline = asyncio.get_running_loop().time() + self.stream_wait
        while self.bytes + size > self.max_bytes:
            freed = self._freed  # taken before waiting: a release sets exactly this event
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(freed.wait(), remaining)
        self.bytes += size
        return True

    def _release(self, size: int) -> None:
        self.bytes -= size
        if size:
            self._freed.set()
            self._freed = asyncio.Event()

    def _stream_refusal(self, peer: str) -> str | None:
        limits = self.stream_limits
        if self.streams[peer] >= limits.per_peer:
            return (
                f"this client already has {self.streams[peer]} streams open, the most one "
                "client may; send on them, or retry when one ends"
            )
        if self.streams.total() >= limits.total:
            return (
                f"{self.streams.total()} streams are open, the most this replica takes; retry "
                "shortly"
            )
        return None

    def _too_many(self) -> str:
        return f"{self.calls} calls are in progress, the most this replica takes; retry shortly"

    def _too_many_bytes(self) -> str:
        held = f"{self.bytes / MiB:.0f} of {self.max_bytes / MiB:.0f} MiB"
        return f"this replica holds as many request bytes as it may ({held}); retry shortly"

    async def _refuse(self, context: Any, service: str, method: str, detail: str) -> None:
        if self._metrics is not None:
            self._metrics.rejected.labels(service, method, OVERLOADED).inc()
        context.set_trailing_metadata(((REASON_KEY, OVERLOADED),))
        await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, detail)


def _parser(
    deserializer: Callable[[bytes], Any] | None,
) -> Callable[[bytes, Any], Awaitable[Any]]:
    """The method's deserializer, run by admission on a message it has admitted: a message
    refused for its bytes is never parsed (parsing copies it at least once more). A message
    that does not parse ends the call INVALID_ARGUMENT, as a person can act on."""

    async def parse(raw: bytes, context: Any) -> Any:
        if deserializer is None:
            return raw
        try:
            return deserializer(raw)
        except DecodeError as error:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"the request message is malformed: {error}"
            )

    return parse


class _StreamBytes:
    """The bytes one stream holds. Each item gets one reply, in whatever order items finish,
    so a reply releases the mean of what is held; what is left goes when the stream ends."""

    def __init__(self, admission: CallAdmission) -> None:
        self._admission = admission
        self._bytes = 0
        self._items = 0

    def add(self, size: int) -> None:
        self._bytes += size
        self._items += 1

    def release_one(self) -> None:
        if self._items:
            share = self._bytes // self._items
            self._bytes -= share
            self._items -= 1
            self._admission._release(share)

    def release_all(self) -> None:
        self._admission._release(self._bytes)
        self._bytes = self._items = 0
