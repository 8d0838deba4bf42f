"""Request and response bodies of the REST contract, with examples for the OpenAPI docs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ScaleUrlRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"url": "https://example.com/photo.jpg"}}
    )

    url: str = Field(
        min_length=1,
        max_length=2048,
        description="public http(s) URL of the image, or s3://BUCKET/KEY where the server "
        "allows the bucket",
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
    400: "Invalid request (no image, a file and a url together, a malformed body or field)",
    401: "Missing, expired or invalid bearer token",
    403: "The URL was refused by policy (not public, not http/https)",
    404: "No profile has that name (the answer lists the known ones)",
    406: "The profile's output cannot be given in the Accept'ed type",
    413: "The upload or image is over the byte or pixel limit",
    415: "Not an image, or a format that is not supported",
    422: "A damaged image, or a URL that could not be downloaded",
    429: "Rate limited; see Retry-After",
    503: "The service is unavailable or overloaded; see Retry-After",
    504: "The service did not answer in time",
}


REQUEST_ID_EXAMPLE = "4f9c2e1a7b3d4c5e8f6a0b1c2d3e4f5a"
# Per status: the error codes it carries, with a detail as the service words it.
ERROR_EXAMPLES: dict[int, dict[str, str]] = {
    400: {
        "invalid_request": "send either a file or a url, not both",
    },
    401: {
        "missing_token": "a bearer token is required",
        "expired_token": "the token has expired; sign in again",
        "invalid_token": "the token is not valid: Signature verification failed.",
        "invalid_credentials": "wrong user name or password",
    },
    403: {
        "source_refused": "the host '127.0.0.1' resolves to 127.0.0.1, a loopback address; refused"
    },
    404: {
        "unknown_profile": "there is no profile 'resnet'; known profiles: clip-224, default, ..."
    },
    406: {"not_acceptable": "profile yolo-640@1#d56c0247be78 gives a tensor: accept ..."},
    413: {
        "upload_too_large": "the upload is over the limit of 26214400 bytes",
        "image_too_large": "the image is 9000x9000 = 81.0 megapixels, over the limit of 50.0",
    },
    415: {
        "unsupported_image": "PDF is not accepted; send one of JPEG, PNG, WEBP, GIF, BMP, TIFF",
        "unsupported_media_type": "send multipart/form-data with a `file` field, or JSON `url`",
    },
    422: {
        "corrupt_image": "the JPEG data is damaged: Corrupt JPEG data: bad Huffman code",
        "download_failed": "could not resolve host photos.example",
    },
    429: {"rate_limited": "too many requests: the limit is 60 per 1 minute"},
    503: {
        "api_unavailable": "the image API is unavailable; retry shortly",
        "overloaded": "the image service is at capacity (2 in work, 8 queued); retry shortly",
    },
    504: {"api_timeout": "the image API did not answer in 60 s"},
}


def _header(description: str, kind: str = "string") -> dict[str, Any]:
    return {"schema": {"type": kind}, "description": description}


REQUEST_ID_HEADER = {"X-Request-ID": _header("id of this request; quote it when reporting")}
RATE_HEADERS = {
    "X-RateLimit-Limit": _header("requests allowed in the window", "integer"),
    "X-RateLimit-Remaining": _header("requests left in the window", "integer"),
    "X-RateLimit-Reset": _header("when the window resets, Unix seconds", "number"),
}
RETRY_HEADER = {"Retry-After": _header("seconds to wait before trying again", "integer")}
ERROR_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": _header("Bearer")},
    429: {**RETRY_HEADER, **RATE_HEADERS},
    503: RETRY_HEADER,
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Each status with its own error codes, an example of each, and its headers."""
    return {
        status: {
            "model": ErrorBody,
            "description": ERROR_DESCRIPTIONS[status],
            "content": {
                "application/json": {
                    "examples": {
                        code: {
                            "summary": code,
                            "value": {
                                "error": code,
                                "detail": detail,
                                "request_id": REQUEST_ID_EXAMPLE,
                            },
                        }
                        for code, detail in ERROR_EXAMPLES[status].items()
                    }
                }
            },
            "headers": {**REQUEST_ID_HEADER, **ERROR_HEADERS.get(status, {})},
        }
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
    **REQUEST_ID_HEADER,
    **RATE_HEADERS,
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
    **REQUEST_ID_HEADER,
    **RATE_HEADERS,
}
PREPROCESS_SUCCESS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The image (image profiles), a .npy (tensor profiles) or JSON. "
        "Accept is negotiated before any work (RFC 9110): `*/*` or none gives the profile's "
        "own type, `application/json` the JSON below, anything else 406.",
        "content": {
            # First, so Swagger UI's "Try it out" sends `*/*`: right for every profile.
            "*/*": {"schema": {"type": "string", "format": "binary"}},
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
