"""Request and response bodies of the REST contract, with examples for the OpenAPI docs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ScaleUrlRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"url": "https://example.com/photo.jpg"}}
    )

    url: str = Field(
        min_length=1, max_length=2048, description="public http or https URL of the image"
    )


class TokenResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {"access_token": "eyJhbGciOi...", "token_type": "bearer", "expires_in": 3600}
        }
    )

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="seconds until the token expires")


class ErrorBody(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "error": "image_too_large",
                "detail": "the image is 30000000 bytes, over the limit of 26214400 bytes",
                "request_id": "4f9c2e1a7b3d4c5e8f6a0b1c2d3e4f5a",
            }
        }
    )

    error: str = Field(description="a stable machine-readable code")
    detail: str = Field(description="what went wrong, for a person")
    request_id: str = Field(description="quote it when reporting a problem")


class Health(BaseModel):
    status: str


ERROR_DESCRIPTIONS = {
    400: "Invalid request (no image, a malformed URL or body)",
    401: "Missing, expired or invalid bearer token",
    403: "The URL was refused by policy (not public, not http/https)",
    404: "No profile has that name (the answer lists the known ones)",
    406: "The profile's output cannot be given in the Accept'ed type",
    413: "The upload or image is over the byte or pixel limit",
    415: "Not an image, or a format that is not supported",
    422: "Fields missing or invalid, a damaged image, or a URL that could not be downloaded",
    429: "Rate limited; see Retry-After",
    503: "The service is unavailable or overloaded; see Retry-After",
    504: "The service did not answer in time",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {"model": ErrorBody, "description": ERROR_DESCRIPTIONS[status]}
        for status in statuses
    }


SCALE_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
            "application/json": {
                "schema": ScaleUrlRequest.model_json_schema(),
                "example": {"url": "https://example.com/photo.jpg"},
            },
        },
    }
}
IMAGE_HEADERS = {
    "X-Image-Width": {"schema": {"type": "integer"}, "description": "width of the result"},
    "X-Image-Height": {"schema": {"type": "integer"}, "description": "height of the result"},
    "Server-Timing": {"schema": {"type": "string"}, "description": "time spent in the API"},
    "X-Request-ID": {"schema": {"type": "string"}, "description": "id of this request"},
}
SCALE_SUCCESS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The processed image",
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in ("image/jpeg", "image/png", "image/webp")
        },
        "headers": IMAGE_HEADERS,
    }
}

PREPROCESS_HEADERS = {
    "X-Imagescaler-Profile": {
        "schema": {"type": "string"},
        "description": "the profile's reference, name@version#hash",
    },
    "X-Imagescaler-Geometry": {
        "schema": {"type": "string"},
        "description": "compact JSON: sizes, crop box, scale, padding, both affine maps",
    },
    "Server-Timing": {"schema": {"type": "string"}, "description": "time spent in the API"},
    "X-Request-ID": {"schema": {"type": "string"}, "description": "id of this request"},
}
PREPROCESS_SUCCESS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The image (image profiles), a .npy (tensor profiles) or JSON",
        "content": {
            **{
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in ("image/jpeg", "image/png", "image/webp", "application/x-npy")
            },
            "application/json": {
                "example": {
                    "profile": "imagenet-224@1#cf2e36e4fcaf",
                    "geometry": {
                        "output_size": [224, 224],
                        "crop_box": [189.0, 685.8, 2835.0, 3334.4],
                    },
                    "shape": [3, 224, 224],
                    "dtype": "float32",
                    "media_type": "application/x-npy",
                    "data": "AAAgQQAA...",
                }
            },
        },
        "headers": PREPROCESS_HEADERS,
    }
}
PROFILES_EXAMPLE = {
    "profiles": [
        {
            "name": "yolo-640",
            "version": 1,
            "ref": "yolo-640@1#d56c0247be78",
            "description": "YOLO: letterbox 640 on grey 114, RGB, float32 CHW in 0-1",
            "spec": {"size": {"rule": "pad", "width": 640, "height": 640}},
        }
    ]
}
INSPECT_EXAMPLE = {
    "format": "JPEG",
    "stored_size": [4032, 3024],
    "upright_size": [3024, 4032],
    "orientation": 6,
    "mode": "RGB",
    "bit_depth": 8,
    "frames": 1,
    "icc_profile": True,
    "bytes": 3970480,
}
