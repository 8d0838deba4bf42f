"""The domain errors of every service, and the one table that gives each its gRPC status.

    ServiceError
    ├── InvalidRequest         the request itself is wrong (no image, bad parameters)
    ├── UnknownProfile         no preprocessing profile has that name
    ├── UnsupportedImage       not an image, or a format outside the allow-list
    ├── CorruptImage           a supported format that fails to decode (truncated, damaged)
    ├── ImageTooLarge          over the byte or pixel limit, or alone over the memory budget
    ├── ImageTooComplex        a container over a structural limit (scans, strips, frames)
    ├── SourceRefused          a URL refused by policy before any connection
    ├── DownloadFailed         the URL could not be fetched (unreachable, non-2xx, too slow)
    ├── Overloaded             the work queue is full
    ├── ShuttingDown           draining before a stop: try another replica
    ├── Cancelled              the caller went (cancelled, deadline passed): work stopped
    └── UpstreamError          a status passed on from a service further down

This module never imports grpc: the pure image code raises these errors, and the
gRPC layer turns the status names below into codes.
"""

from __future__ import annotations

from typing import ClassVar


class ServiceError(Exception):
    """An error a client should see, with a message that names the problem."""

    reason: ClassVar[str] = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(ServiceError):
    reason = "invalid_request"


class UnknownProfile(ServiceError):
    reason = "unknown_profile"


class UnsupportedImage(ServiceError):
    reason = "unsupported_image"


class CorruptImage(ServiceError):
    reason = "corrupt_image"


class ImageTooLarge(ServiceError):
    reason = "image_too_large"


class ImageTooComplex(ServiceError):
    reason = "image_too_complex"


class SourceRefused(ServiceError):
    reason = "source_refused"


class DownloadFailed(ServiceError):
    reason = "download_failed"


class Overloaded(ServiceError):
    reason = "overloaded"


class ShuttingDown(ServiceError):
    reason = "shutting_down"


class Cancelled(ServiceError):
    reason = "cancelled"


class UpstreamError(ServiceError):
    """A status and message from a downstream service, passed on unchanged."""

    def __init__(self, status_name: str, message: str, reason: str = "upstream_error") -> None:
        super().__init__(message)
        self.status_name = status_name
        self.upstream_reason = reason


STATUS_BY_ERROR: dict[type[ServiceError], str] = {
    InvalidRequest: "INVALID_ARGUMENT",
    UnknownProfile: "NOT_FOUND",
    UnsupportedImage: "INVALID_ARGUMENT",
    CorruptImage: "INVALID_ARGUMENT",
    ImageTooLarge: "RESOURCE_EXHAUSTED",
    ImageTooComplex: "INVALID_ARGUMENT",
    SourceRefused: "PERMISSION_DENIED",
    DownloadFailed: "FAILED_PRECONDITION",
    Overloaded: "RESOURCE_EXHAUSTED",
    ShuttingDown: "UNAVAILABLE",
    Cancelled: "CANCELLED",
}


def status_name_of(error: ServiceError) -> str:
    """The gRPC status name for an error (a name of grpc.StatusCode)."""
    if isinstance(error, UpstreamError):
        return error.status_name
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return "INTERNAL"


def reason_of(error: ServiceError) -> str:
    """A short machine-readable slug for the error, sent as trailing metadata."""
    if isinstance(error, UpstreamError):
        return error.upstream_reason
    return error.reason
