"""The one JSON error shape, and the one table from gRPC status (and reason) to HTTP status."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from limits.errors import StorageError
from slowapi.errors import RateLimitExceeded
from starlette.exceptions import HTTPException as StarletteHTTPException

from imagescaler.runtime.errors import UpstreamError
from imagescaler.runtime.request_context import current_request_id
from rest_gateway.observability import route_template

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = "5"


@dataclass
class GatewayError(Exception):
    """An error answered as {"error": code, "detail": ..., "request_id": ...}."""

    status: int
    code: str
    detail: str
    headers: dict[str, str] = field(default_factory=dict)


# (gRPC status, reason from the API's trailing metadata or None for any) -> HTTP status
HTTP_STATUS: dict[tuple[grpc.StatusCode, str | None], int] = {
    (grpc.StatusCode.INVALID_ARGUMENT, "unsupported_image"): 415,
    (grpc.StatusCode.INVALID_ARGUMENT, "corrupt_image"): 422,
    (grpc.StatusCode.INVALID_ARGUMENT, "image_too_complex"): 422,
    (grpc.StatusCode.INVALID_ARGUMENT, None): 400,
    (grpc.StatusCode.RESOURCE_EXHAUSTED, "image_too_large"): 413,
    (grpc.StatusCode.RESOURCE_EXHAUSTED, "overloaded"): 503,
    (grpc.StatusCode.RESOURCE_EXHAUSTED, None): 429,
    (grpc.StatusCode.FAILED_PRECONDITION, None): 422,
    (grpc.StatusCode.PERMISSION_DENIED, None): 403,
    (grpc.StatusCode.UNAUTHENTICATED, None): 401,
    (grpc.StatusCode.NOT_FOUND, None): 404,
    (grpc.StatusCode.UNAVAILABLE, None): 503,
    (grpc.StatusCode.DEADLINE_EXCEEDED, None): 504,
}
_RETRYABLE = frozenset({429, 503})


def from_grpc(code: grpc.StatusCode, reason: str | None, detail: str) -> GatewayError:
    status = HTTP_STATUS.get((code, reason)) or HTTP_STATUS.get((code, None))
    if status is None:
        logger.error("API answered %s: %s", code.name, detail)
        return GatewayError(500, "internal_error", "the request failed inside the service")
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if status in _RETRYABLE else {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return GatewayError(status, reason or code.name.lower(), detail, headers)


def from_upstream(error: UpstreamError) -> GatewayError:
    """The API's failure, passed on by the client, in the gateway's terms."""
    return from_grpc(grpc.StatusCode[error.status_name], error.upstream_reason, error.message)


def error_response(error: GatewayError) -> JSONResponse:
    body = {"error": error.code, "detail": error.detail, "request_id": current_request_id()}
    return JSONResponse(body, status_code=error.status, headers=error.headers)


def install_error_handlers(app: FastAPI) -> None:
    """Every error the gateway can answer goes through error_response."""

    async def gateway_error(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, GatewayError)
        return error_response(error)

    async def http_error(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        if isinstance(error.__cause__, GatewayError):
            # FastAPI turns any failure while parsing a form into 400 "error parsing the body";
            # when the body was too slow or too large, that is the answer to give.
            return error_response(error.__cause__)
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return error_response(
            GatewayError(error.status_code, code, str(error.detail), dict(error.headers or {}))
        )

    async def validation_error(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        problems = "; ".join(
            f"{'.'.join(str(part) for part in p['loc'])}: {p['msg']}" for p in error.errors()
        )
        return error_response(GatewayError(400, "invalid_request", problems))

    async def rate_limited(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RateLimitExceeded)
        request.app.state.metrics.rate_limited.labels(route_template(request.scope)).inc()
        response = error_response(
            GatewayError(429, "rate_limited", f"too many requests: the limit is {error.detail}")
        )
        limiter = request.app.state.limiter
        return limiter._inject_headers(response, request.state.view_rate_limit)  # type: ignore[no-any-return]

    async def limits_unavailable(_: Request, error: Exception) -> JSONResponse:
        logger.error("rate limit storage unavailable, refusing (fail closed): %s", error)
        return error_response(
            GatewayError(
                503,
                "rate_limit_unavailable",
                "the rate limiter is unavailable; retry shortly",
                {"Retry-After": RETRY_AFTER_SECONDS},
            )
        )

    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        logger.exception("unexpected error", exc_info=error)
        return error_response(
            GatewayError(500, "internal_error", "the request failed inside the gateway")
        )

    app.add_exception_handler(GatewayError, gateway_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(RateLimitExceeded, rate_limited)
    app.add_exception_handler(StorageError, limits_unavailable)
    app.add_exception_handler(Exception, unexpected)
