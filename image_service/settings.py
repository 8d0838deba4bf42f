"""Settings of the image service (env prefix IMAGESCALER_IMAGE_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from imagescaler.runtime.settings import (
    IMAGE_METRICS_PORT,
    IMAGE_SERVICE_PORT,
    Address,
    GrpcServiceSettings,
    OptionalAddress,
    available_cpus,
    loopback,
)


class ImageServiceSettings(GrpcServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IMAGESCALER_IMAGE_")

    listen: Address = Field(
        loopback(IMAGE_SERVICE_PORT), description="address the gRPC server listens on"
    )
    metrics_listen: OptionalAddress = Field(
        loopback(IMAGE_METRICS_PORT),
        description="address of the Prometheus /metrics endpoint (empty: off)",
    )
    workers: int = Field(
        default_factory=available_cpus,
        ge=1,
        description="threads doing pixel work (default: cores)",
    )
    queue_depth: int = Field(
        8, ge=0, description="requests that may wait for a worker before RESOURCE_EXHAUSTED"
    )
