"""POST /v1/preprocess, GET /v1/profiles and POST /v1/inspect: the preprocessing service."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from imagescaler.imaging.builtin_profiles import BUILTIN_PROFILES
from rest_gateway.deps import (
    ApiDep,
    CallerDep,
    KnownQuery,
    MetricsDep,
    ProfileOutputsDep,
    require_caller,
)
from rest_gateway.image_body import read_image_body
from rest_gateway.limits import rate_limited
from rest_gateway.negotiation import negotiate_or_406
from rest_gateway.preprocess_responses import preprocess_response
from rest_gateway.schemas import (
    INSPECT_EXAMPLE,
    PREPROCESS_SUCCESS,
    PROFILES_EXAMPLE,
    SCALE_REQUEST_BODY,
    error_responses,
)

router = APIRouter(tags=["preprocessing"], dependencies=[KnownQuery])
# Offered as choices in the docs (Swagger's drop-down); a deployment's own profiles (the API's
# --profiles-file) are accepted too: GET /v1/profiles lists them all.
KNOWN_PROFILES = list(BUILTIN_PROFILES)  # `default` first
ProfileName = Annotated[
    str,
    Query(
        description="a profile of GET /v1/profiles (the built-in ones are offered here; a "
        "deployment may serve more)",
        json_schema_extra={"enum": KNOWN_PROFILES},
    ),
]


@router.post(
    "/v1/preprocess",
    summary="Preprocess an image by a named profile: an image, a .npy tensor, or JSON",
    response_class=Response,
    responses={
        **PREPROCESS_SUCCESS,
        **error_responses(400, 401, 403, 404, 406, 413, 415, 422, 429, 503, 504),
    },
    openapi_extra=SCALE_REQUEST_BODY,
)
@rate_limited("preprocess")
async def preprocess(
    request: Request,
    caller: CallerDep,
    api: ApiDep,
    metrics: MetricsDep,
    *,
    outputs: ProfileOutputsDep,
    profile: ProfileName = "default",
) -> Response:
    """The image as multipart field `file`, or JSON `{"url": "https://..."}`. Image profiles
    answer with the image; tensor profiles with a NumPy `.npy` (`Accept:
    application/x-npy`, the default); `Accept: application/json` gives `{"profile",
    "geometry", "shape", "dtype", "data"}` with the data in base64. Every answer carries
    `X-Imagescaler-Profile` (name@version#hash) and `X-Imagescaler-Geometry` (JSON)."""
    require_caller(caller, metrics)
    accept = request.headers.get("accept", "")
    offers = await outputs.offers(profile, caller.token)
    if offers is not None:  # negotiated before the upload is read and any pixel work
        negotiate_or_406(accept, offers, f"profile {profile}")
    reply, api_ms = await api.preprocess(await read_image_body(request), profile, caller.token)
    return preprocess_response(reply, accept, api_ms)


@router.get(
    "/v1/profiles",
    summary="The profiles this deployment serves, with their references",
    responses={
        200: {"content": {"application/json": {"example": PROFILES_EXAMPLE}}},
        **error_responses(401, 429, 503, 504),
    },
)
@rate_limited("profiles")
async def profiles(
    request: Request, response: Response, caller: CallerDep, api: ApiDep, metrics: MetricsDep
) -> dict[str, Any]:
    require_caller(caller, metrics)
    listed = await api.list_profiles(caller.token)
    return {
        "profiles": [
            {
                "name": p.name,
                "version": p.version,
                "ref": p.ref,
                "description": p.description,
                "spec": json.loads(p.spec_json),
            }
            for p in listed.profiles
        ]
    }


@router.post(
    "/v1/inspect",
    summary="What the image's header says, without decoding a pixel",
    responses={
        200: {"content": {"application/json": {"example": INSPECT_EXAMPLE}}},
        **error_responses(400, 401, 403, 413, 415, 422, 429, 503, 504),
    },
    openapi_extra=SCALE_REQUEST_BODY,
)
@rate_limited("inspect")
async def inspect(
    request: Request, response: Response, caller: CallerDep, api: ApiDep, metrics: MetricsDep
) -> dict[str, Any]:
    require_caller(caller, metrics)
    facts = await api.inspect(await read_image_body(request), caller.token)
    return {
        "format": facts.format,
        "stored_size": list(facts.stored_size),
        "upright_size": list(facts.upright_size),
        "orientation": facts.orientation,
        "mode": facts.mode,
        "bit_depth": facts.bit_depth,
        "frames": facts.frames,
        "icc_profile": facts.icc_profile,
        "bytes": facts.bytes,
    }
