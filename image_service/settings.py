"""Settings of the image service (env prefix IMAGESCALER_IMAGE_)."""

from __future__ import annotations

from pydantic import ByteSize, Field
from pydantic_settings import SettingsConfigDict

from imagescaler.runtime.memory_budget import default_budget
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
    memory_budget: ByteSize | None = Field(
        None,
        ge=16 * 1024 * 1024,
        description="bytes of decode memory in flight; images wait for it, and one that alone "
        "needs more is refused (default: the container's memory limit less 192 MiB, else 2 GiB)",
    )

    @property
    def decode_memory_budget(self) -> int:
        """The budget in bytes: the setting, or what the container's limit leaves."""
        return self.memory_budget or default_budget()

    queue_depth: int = Field(
        8, ge=0, description="requests that may wait for a worker before RESOURCE_EXHAUSTED"
    )
