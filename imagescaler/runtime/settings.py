"""Settings every service shares; each service subclasses it with its own env prefix."""

from __future__ import annotations

import ipaddress
import os
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ByteSize,
    Field,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from imagescaler.runtime.defaults import MAX_IMAGE_BYTES, MAX_PIXELS

MiB = 1024 * 1024

# The default ports, in one place: settings, the probe and the clients' defaults use them.
GATEWAY_PORT = 8000
API_PORT = 50051
IMAGE_SERVICE_PORT = 50052
IMAGE_METRICS_PORT = 9101
API_METRICS_PORT = 9102
GATEWAY_METRICS_PORT = 9103


def loopback(port: int) -> str:
    return f"127.0.0.1:{port}"


def available_cpus() -> int:
    """The cores this process may run on (the container's share, not the host's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def check_address(value: str) -> str:
    """A listen or target address of the form host:port."""
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{value!r} is not an address of the form host:port")
    return value


Address = Annotated[str, AfterValidator(check_address)]


def check_optional_address(value: str) -> str:
    return value if value == "" else check_address(value)


OptionalAddress = Annotated[str, AfterValidator(check_optional_address)]


def split_list(value: object) -> object:
    """Accept "a,b,c" from flags and env as well as a list."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def check_networks(values: list[str]) -> list[str]:
    for value in values:
        ipaddress.ip_network(value, strict=False)
    return values


CommaList = Annotated[list[str], NoDecode, BeforeValidator(split_list)]
Networks = Annotated[CommaList, AfterValidator(check_networks)]


def require_room_for_one(setting: str, budget: int, one: str, size: int) -> None:
    """Refuse a budget of bytes in flight that `one` (`size` bytes) could never fit into:
    such requests would always be refused."""
    if budget < size:
        raise ValueError(
            f"{setting} ({budget} bytes) is smaller than {one} ({size} bytes): "
            "such requests would always be refused"
        )


class ServiceSettings(BaseSettings):
    """Fields common to every service. Subclasses set env_prefix."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid", validate_default=True)

    log_format: Literal["text", "json"] = Field(
        "text", description="log lines: readable text, or JSON for production"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="lowest level that is logged"
    )
    max_image_bytes: int = Field(
        MAX_IMAGE_BYTES, ge=1024, description="largest image accepted, in bytes"
    )
    shutdown_grace: float = Field(
        10.0, ge=0, description="seconds in-flight requests get to finish on SIGTERM"
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def max_message_bytes(self) -> int:
        """gRPC message limit: the largest image plus room for the other fields."""
        return self.max_image_bytes + 64 * 1024


MAX_CLOCK_SKEW = 30


class TokenClaimsSettings(BaseSettings):
    """What a bearer token must say to be believed: the same for the gateway and the gRPC API,
    so a token one accepts, the other does (imagescaler.runtime.bearer_tokens)."""

    jwt_issuer: str = Field("imagescaler", min_length=1, description="required `iss` of tokens")
    jwt_audience: str = Field("imagescaler", min_length=1, description="required `aud` of tokens")
    jwt_clock_skew: int = Field(
        30, ge=0, le=MAX_CLOCK_SKEW, description="seconds of clock skew allowed on exp and nbf"
    )
    jwt_max_lifetime: int = Field(
        86400, ge=60, description="longest token lifetime accepted, exp minus iat (or now)"
    )


class GrpcServiceSettings(ServiceSettings):
    """Fields of the services that are gRPC servers and read image headers."""

    max_pixels: int = Field(
        MAX_PIXELS, ge=1, description="largest image accepted, in pixels (width x height)"
    )
    max_jpeg_scans: int = Field(
        100, ge=1, description="most scans a progressive JPEG may have (each costs a full pass)"
    )
    jxl_cpu_base_seconds: float = Field(
        2.0,
        gt=0,
        description="CPU seconds any JPEG XL decode may take, before the per-pixel part "
        "(decodes happen in the image service; the API reads headers only)",
    )
    jxl_cpu_seconds_per_megapixel: float = Field(
        0.5,
        gt=0,
        description="CPU seconds a JPEG XL decode may take per megapixel, on top of the base; "
        "its child process is killed past that and the image refused",
    )
    max_calls_in_flight: int = Field(
        16,
        ge=1,
        description="unary calls handled at once, each holding its request message (health "
        "checks not counted); more get RESOURCE_EXHAUSTED at once, unread",
    )
    max_streams_in_flight: int = Field(
        8,
        ge=1,
        description="streams open at once, counted apart from calls; more get "
        "RESOURCE_EXHAUSTED at once",
    )
    max_streams_per_client: int = Field(
        4,
        ge=1,
        description="streams open at once from one client address; more get "
        "RESOURCE_EXHAUSTED at once",
    )
    max_request_bytes_in_flight: ByteSize = Field(
        ByteSize(128 * MiB),
        ge=MiB,
        description="bytes of request messages held at once; more get RESOURCE_EXHAUSTED",
    )
    drain_delay: float = Field(
        1.0,
        ge=0,
        description="seconds of NOT_SERVING (new work refused) on SIGTERM before stopping",
    )
    max_connection_age: float = Field(
        60.0, gt=0, description="seconds after which a client reconnects (and finds new replicas)"
    )
    max_connection_age_grace: float = Field(
        60.0,
        gt=0,
        description="seconds a call may go on on a connection past its age; then it is ended "
        "UNAVAILABLE (a bulk client opens its stream again elsewhere)",
    )

    @model_validator(mode="after")
    def _one_message_fits(self) -> GrpcServiceSettings:
        require_room_for_one(
            "max_request_bytes_in_flight",
            self.max_request_bytes_in_flight,
            "one message of the largest image",
            self.max_message_bytes,
        )
        return self
