"""POST /v1/scale: an uploaded image, or one at a URL, scaled by the ImageScaler API."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from rest_gateway.deps import ApiDep, CallerDep, MetricsDep
from rest_gateway.errors import GatewayError
from rest_gateway.limits import rate_limited
from rest_gateway.scaler_api_client import ScaledImage
from rest_gateway.schemas import (
    SCALE_REQUEST_BODY,
    SCALE_SUCCESS,
    ScaleUrlRequest,
    error_responses,
)

router = APIRouter(tags=["images"])


@router.post(
    "/v1/scale",
    summary="Scale an uploaded image or one at a URL",
    response_class=Response,
    responses={**SCALE_SUCCESS, **error_responses(400, 401, 403, 413, 415, 422, 429, 503, 504)},
    openapi_extra=SCALE_REQUEST_BODY,
)
@rate_limited("scale")
async def scale(request: Request, caller: CallerDep, api: ApiDep, metrics: MetricsDep) -> Response:
    """Send the image as multipart field `file`, or JSON `{"url": "https://..."}`. The
    answer is the image at the configured size (1024x768 grayscale JPEG by default)."""
    if caller.subject is None:
        metrics.auth_failures.labels(caller.failure_reason).inc()
    caller.require()
    content, url = await read_scale_body(request)
    return image_response(await api.scale(content, url))


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
