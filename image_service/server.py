"""The image service process: create_server(settings) for tests, main() for the command line."""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import CollectorRegistry

from grpc_stubs import image_service_v1_pb2_grpc as image_grpc
from image_service.servicer import JOB_IMAGE, SERVICE_NAME, ImageServiceServicer
from image_service.settings import ImageServiceSettings
from image_service.worker_pool import WorkerPool
from imagescaler.grpc_runtime.server import RunningServer, run_service, start_service
from imagescaler.grpc_runtime.wire_methods import add_servicer
from imagescaler.imaging.formats import Limits, configure_pillow
from imagescaler.runtime.image_metrics import ImageMetrics
from imagescaler.runtime.memory_budget import MemoryBudget
from imagescaler.runtime.memory_tuning import PIXEL_WORK


async def create_server(
    settings: ImageServiceSettings, registry: CollectorRegistry | None = None
) -> RunningServer:
    """Start the image service on settings.listen (port 0 picks one) and mark it SERVING."""
    registry = registry if registry is not None else CollectorRegistry()
    pool = WorkerPool(settings.workers, settings.queue_depth)
    limits = Limits.from_settings(settings)
    budget = MemoryBudget(settings.decode_memory_budget)
    metrics = ImageMetrics(registry, "image-service")
    servicer = ImageServiceServicer(pool, limits, budget, settings.max_message_bytes, metrics)

    def add_servicers(server: Any) -> list[str]:
        # Its replies are written once onto the wire (messages.preprocess_reply_wire), and a
        # job's image is held once (servicer.JOB_IMAGE).
        add_servicer(
            image_grpc.add_ImageServiceServicer_to_server,
            servicer,
            server,
            raw_replies=["Preprocess"],
            deserializers={"Preprocess": JOB_IMAGE},
        )
        return [SERVICE_NAME]

    async def shutdown_pool() -> None:
        await asyncio.to_thread(pool.shutdown)

    return await start_service(settings, add_servicers, [shutdown_pool], registry)


def main(settings: ImageServiceSettings) -> None:
    configure_pillow(settings.max_pixels)
    summary = (
        f"{settings.workers} workers, queue {settings.queue_depth}, "
        f"decode memory budget {settings.decode_memory_budget >> 20} MiB"
    )
    run_service("image-service", settings, create_server, PIXEL_WORK, summary)
