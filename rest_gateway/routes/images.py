"""POST /v1/scale: an uploaded image, or one at a URL, scaled by the ImageScaler API."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from rest_gateway.deps import ApiDep, CallerDep, KnownQuery, MetricsDep, require_caller
from rest_gateway.image_body import read_image_body
from rest_gateway.limits import rate_limited
from rest_gateway.scaler_api_client import ScaledImage
from rest_gateway.schemas import (
    SCALE_REQUEST_BODY,
    SCALE_SUCCESS,
    error_responses,
)

router = APIRouter(tags=["images"], dependencies=[KnownQuery])


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
    require_caller(caller, metrics)
    return image_response(await api.scale(await read_image_body(request), caller.token))


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
