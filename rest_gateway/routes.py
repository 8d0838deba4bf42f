"""The REST routes: /v1/scale, /v1/token, /healthz and /readyz."""

# No `from __future__ import annotations` here: FastAPI must see the dependencies in the
# signatures as objects, and some of them are closures made by build_router.
import asyncio
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pydantic import ValidationError
from slowapi import Limiter
from starlette.datastructures import UploadFile

from rest_gateway.auth import AuthError
from rest_gateway.errors import GatewayError
from rest_gateway.identity import Identity
from rest_gateway.limits import subject_or_address
from rest_gateway.observability import HttpMetrics
from rest_gateway.scaler_api_client import ScaledImage, ScalerApiClient
from rest_gateway.schemas import (
    SCALE_REQUEST_BODY,
    SCALE_SUCCESS,
    Health,
    ScaleUrlRequest,
    TokenResponse,
    error_responses,
)
from rest_gateway.settings import GatewaySettings

bearer_token = OAuth2PasswordBearer(tokenUrl="/v1/token", auto_error=False)


@dataclass(frozen=True)
class Caller:
    """The outcome of authentication: a subject, or why there is none."""

    subject: str | None
    failure: AuthError | None = None

    def require(self) -> str:
        if self.subject is None:
            failure = self.failure or AuthError("missing_token", "a bearer token is required")
            raise GatewayError(401, failure.reason, failure.message, {"WWW-Authenticate": "Bearer"})
        return self.subject


def build_router(
    settings: GatewaySettings,
    identity: Identity,
    limiter: Limiter,
    api: ScalerApiClient,
    metrics: HttpMetrics,
) -> APIRouter:
    router = APIRouter()

    async def authenticate(
        request: Request, token: Annotated[str | None, Depends(bearer_token)]
    ) -> Caller:
        # Never raises: the rate limit must count failed attempts before they are refused.
        if token is None:
            return Caller(None)
        try:
            subject = identity.verifier.verify(token)
        except AuthError as failure:
            return Caller(None, failure)
        request.state.subject = subject
        return Caller(subject)

    @router.post(
        "/v1/scale",
        summary="Scale an uploaded image or one at a URL",
        response_class=Response,
        responses={**SCALE_SUCCESS, **error_responses(400, 401, 403, 413, 415, 422, 429, 503, 504)},
        openapi_extra=SCALE_REQUEST_BODY,
        tags=["images"],
    )
    @limiter.limit(settings.rate_limit, key_func=subject_or_address(limiter))  # type: ignore[untyped-decorator]
    async def scale(request: Request, caller: Annotated[Caller, Depends(authenticate)]) -> Response:
        """Send the image as multipart field `file`, or JSON `{"url": "https://..."}`. The
        answer is the image at the configured size (1024x768 grayscale JPEG by default)."""
        if caller.subject is None:
            metrics.auth_failures.labels(
                caller.failure.reason if caller.failure else "missing_token"
            ).inc()
        caller.require()
        content, url = await read_scale_body(request)
        return image_response(await api.scale(content, url))

    if identity.issuer is not None and identity.users:
        issuer, users = identity.issuer, identity.users

        @router.post(
            "/v1/token",
            summary="Sign in: OAuth2 password flow",
            response_model=TokenResponse,
            responses=error_responses(401, 422, 429),
            tags=["auth"],
        )
        @limiter.limit(settings.token_rate_limit)  # type: ignore[untyped-decorator]
        async def token(
            request: Request,
            response: Response,
            form: Annotated[OAuth2PasswordRequestForm, Depends()],
        ) -> TokenResponse:
            """Exchange a user name and password for a bearer token."""
            if not await asyncio.to_thread(users.authenticate, form.username, form.password):
                metrics.auth_failures.labels("invalid_credentials").inc()
                raise GatewayError(
                    401,
                    "invalid_credentials",
                    "wrong user name or password",
                    {"WWW-Authenticate": "Bearer"},
                )
            issued = issuer.issue(form.username)
            return TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in)

    @router.get("/healthz", response_model=Health, tags=["health"], summary="The process is alive")
    async def healthz() -> Health:
        return Health(status="ok")

    @router.get(
        "/readyz",
        response_model=Health,
        responses=error_responses(503),
        tags=["health"],
        summary="The ImageScaler API answers its health check",
    )
    async def readyz() -> Any:
        if await api.ready():
            return Health(status="ready")
        raise GatewayError(
            503, "api_unavailable", "the image API is not ready", {"Retry-After": "5"}
        )

    return router


async def read_scale_body(request: Request) -> tuple[bytes, str]:
    """The upload's bytes, or the URL from a JSON body."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        return await _read_upload(request), ""
    if media_type == "application/json":
        try:
            body = ScaleUrlRequest.model_validate_json(await request.body())
        except ValidationError as error:
            problems = "; ".join(p["msg"] for p in error.errors())
            raise GatewayError(
                400, "invalid_request", f"the JSON body is invalid: {problems}"
            ) from None
        return b"", body.url
    raise GatewayError(
        415,
        "unsupported_media_type",
        "send multipart/form-data with a `file` field, or application/json with a `url`",
    )


async def _read_upload(request: Request) -> bytes:
    async with request.form(max_files=1, max_fields=4) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise GatewayError(400, "invalid_request", "the multipart body has no `file` field")
        return await upload.read()


def image_response(image: ScaledImage) -> Response:
    return Response(
        image.content,
        media_type=image.media_type,
        headers={
            "X-Image-Width": str(image.width),
            "X-Image-Height": str(image.height),
            "Server-Timing": f"api;dur={image.api_milliseconds:.1f}",
        },
    )
