"""Settings of the ImageScaler API (env prefix IMAGESCALER_API_)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal, NamedTuple

from pydantic import BeforeValidator, ByteSize, Field, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from imagescaler.imaging.profiles_file import load_profiles
from imagescaler.runtime.defaults import MAX_SIDE
from imagescaler.runtime.settings import (
    API_METRICS_PORT,
    API_PORT,
    IMAGE_SERVICE_PORT,
    Address,
    CommaList,
    GrpcServiceSettings,
    MiB,
    Networks,
    OptionalAddress,
    TokenClaimsSettings,
    loopback,
)


class Size(NamedTuple):
    width: int
    height: int

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"


def parse_size(value: object) -> object:
    """Accept "1024x768" as well as a (width, height) pair."""
    if not isinstance(value, str):
        return value
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", value)
    if match is None:
        raise ValueError(f"{value!r} is not a size like 1024x768")
    width, height = int(match[1]), int(match[2])
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise ValueError(f"{value!r}: width and height must be between 1 and {MAX_SIDE}")
    return Size(width, height)


def parse_colour(value: object) -> object:
    if isinstance(value, str) and not re.fullmatch(r"#[0-9a-fA-F]{6}", value.strip()):
        raise ValueError(f"{value!r} is not a colour like #000000")
    return value.strip().lower() if isinstance(value, str) else value


class ApiSettings(GrpcServiceSettings, TokenClaimsSettings):
    model_config = SettingsConfigDict(env_prefix="IMAGESCALER_API_")

    listen: Address = Field(loopback(API_PORT), description="address the gRPC API listens on")
    metrics_listen: OptionalAddress = Field(
        loopback(API_METRICS_PORT),
        description="address of the Prometheus /metrics endpoint (empty: off)",
    )
    image_service: str = Field(
        loopback(IMAGE_SERVICE_PORT),
        description="gRPC target of the image service (host:port or dns:///name:port)",
    )
    jwt_public_keys_file: Path | None = Field(
        None,
        description="PEM public key or JWKS of the tokens callers must send (the gateway's "
        "signing key's public half, an identity provider's keys); unset: no token is asked "
        "for, for local use",
    )
    target_size: Annotated[Size, NoDecode, BeforeValidator(parse_size)] = Field(
        Size(1024, 768), description="size every image is scaled to, WIDTHxHEIGHT"
    )
    grayscale: bool = Field(True, description="convert to single-channel grayscale")
    margin: float = Field(
        0.05,
        ge=0,
        lt=1,
        description="no scaling when width and height are both within this fraction of the target",
    )
    resize_mode: Literal["stretch", "fit", "cover", "pad"] = Field(
        "stretch", description="stretch (exact size), fit (inside), cover (crop) or pad (letterbox)"
    )
    pad_colour: Annotated[str, BeforeValidator(parse_colour)] = Field(
        "#000000", description="letterbox colour for resize mode pad"
    )

    @property
    def pad_rgb(self) -> tuple[int, int, int]:
        """pad_colour (checked `#rrggbb` by its validator) as red, green, blue."""
        red, green, blue = (int(self.pad_colour[i : i + 2], 16) for i in (1, 3, 5))
        return red, green, blue

    output_format: Literal["jpeg", "png", "webp"] = Field(
        "jpeg", description="format of the result"
    )
    quality: int = Field(90, ge=1, le=100, description="JPEG and WebP quality, 1-100")
    download_timeout: float = Field(
        10.0, gt=0, description="seconds a URL download may take in all, redirects included"
    )
    connect_timeout: float = Field(3.0, gt=0, description="seconds to connect to a URL's server")
    max_redirects: int = Field(3, ge=0, le=10, description="redirects followed per download")
    allow_private_urls: bool = Field(
        False, description="allow URLs on loopback and private networks (local development only)"
    )
    allowed_url_networks: Networks = Field(
        default_factory=list,
        description="private networks URLs may point to anyway, comma-separated CIDRs",
    )
    s3_allowed_buckets: CommaList = Field(
        default_factory=list,
        description="buckets s3://BUCKET/KEY URLs may be fetched from with this server's own "
        "AWS credentials, comma-separated (none: s3:// URLs are refused)",
    )
    s3_endpoint: str | None = Field(
        None, description="an S3-compatible store's endpoint URL for s3:// sources (default: AWS)"
    )
    image_service_timeout: float = Field(
        30.0, gt=0, description="deadline in seconds for each call to the image service"
    )
    profiles_file: Path | None = Field(
        None, description="TOML file of preprocessing profiles, beside the built-in ones"
    )
    stream_window: int = Field(
        8, ge=1, le=256, description="images of one PreprocessStream in work or not yet sent"
    )
    stream_reply_bytes: ByteSize = Field(
        ByteSize(16 * MiB),
        ge=MiB,
        description="bytes of one PreprocessStream's replies not yet sent, its images in work "
        "counted at its largest reply; the next request is read only below it",
    )

    @field_validator("profiles_file")
    @classmethod
    def _profiles_load(cls, path: Path | None) -> Path | None:
        if path is not None:
            load_profiles(path)  # a mistake stops the service, naming profile and field
        return path

    @model_validator(mode="after")
    def _profiles_fit(self) -> ApiSettings:
        """A profile whose output the limits could never let through stops the service."""
        if self.profiles_file is not None:
            for profile in load_profiles(self.profiles_file).values():
                problem = profile.output_problem(self.max_pixels, self.max_message_bytes)
                if problem is not None:
                    raise ValueError(f"profiles file {self.profiles_file}: {problem}")
        return self
