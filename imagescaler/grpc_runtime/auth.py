"""Bearer tokens on a gRPC service: the `authorization` metadata verified by the same hardened
JWT code as the gateway's (bearer_tokens.TokenVerifier), refused with the same reasons.

A call without an acceptable token is refused UNAUTHENTICATED before anything else happens:
its message is never read and admission never counts it, so callers without a token cannot
take the calls or bytes in flight of those who have one. Health checks and reflection stay
open, for probes and tools. The reason (`missing_token`, `expired_token`, ...) goes in the
`imagescaler-reason` trailing metadata, as every other refusal's does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import grpc

from imagescaler.grpc_runtime.interceptor_base import REASON_KEY, UNOBSERVED_SERVICES
from imagescaler.grpc_runtime.metrics import GrpcMetrics, split_method
from imagescaler.runtime.bearer_tokens import AuthError, TokenVerifier

AUTHORIZATION = "authorization"


def bearer_metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    """The call metadata that carries `token` (none without one)."""
    return ((AUTHORIZATION, f"Bearer {token}"),) if token else ()


def token_in(metadata: Sequence[tuple[str, Any]] | None) -> str:
    """The bearer token of a call's metadata, or AuthError."""
    values = [value for key, value in metadata or () if key == AUTHORIZATION]
    if not values:
        raise AuthError("missing_token", "a bearer token is required in `authorization`")
    scheme, _, token = str(values[-1]).partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("malformed_token", "`authorization` must be `Bearer <token>`")
    return token.strip()


class BearerAuth(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """The outermost interceptor when tokens are required."""

    def __init__(self, verifier: TokenVerifier, metrics: GrpcMetrics | None = None) -> None:
        self._verifier = verifier
        self._metrics = metrics

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        service, method = split_method(details.method)
        if handler is None or service in UNOBSERVED_SERVICES:
            # An unknown method is UNIMPLEMENTED, token or not, and no metric is labelled with
            # a name the caller made up (each would be a new series).
            return handler
        try:
            self._verifier.verify(token_in(details.invocation_metadata))
        except AuthError as failure:
            if self._metrics is not None:
                self._metrics.rejected.labels(service, method, failure.reason).inc()
            return _refusal(failure)
        return handler


def _refusal(failure: AuthError) -> grpc.RpcMethodHandler:
    """A handler that ends the call at once, its request stream never read (stream-unary: any
    client's call, unary or streaming, gets the status and no message)."""

    async def refuse(requests: AsyncIterator[bytes], context: Any) -> None:
        context.set_trailing_metadata(((REASON_KEY, failure.reason),))
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, failure.message)

    return grpc.stream_unary_rpc_method_handler(refuse)
