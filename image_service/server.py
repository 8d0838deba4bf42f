"""The image service process: create_server(settings) for tests, main() for the command line."""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import CollectorRegistry

from grpc_stubs import image_service_v1_pb2_grpc as pb_grpc
from image_service.servicer import SERVICE_NAME, ImageServiceServicer
from image_service.settings import ImageServiceSettings
from image_service.worker_pool import WorkerPool
from imagescaler.imaging.formats import Limits, configure_pillow
from imagescaler.runtime import grpc_server
from imagescaler.runtime.grpc_interceptors import Drain
from imagescaler.runtime.grpc_server import RunningServer
from imagescaler.runtime.image_metrics import ImageMetrics
from imagescaler.runtime.logging_setup import configure_logging
from imagescaler.runtime.memory_tuning import limit_malloc_arenas

logger = logging.getLogger(__name__)


async def create_server(
    settings: ImageServiceSettings, registry: CollectorRegistry | None = None
) -> RunningServer:
    """Start the image service on settings.listen (port 0 picks one) and mark it SERVING."""
    registry = registry if registry is not None else CollectorRegistry()
    drain = Drain()
    server = grpc_server.create_grpc_server(
        settings.max_message_bytes, registry, settings.max_connection_age, drain
    )
    pool = WorkerPool(settings.workers, settings.queue_depth)
    limits = Limits(settings.max_image_bytes, settings.max_pixels)
    metrics = ImageMetrics(registry, "image-service")
    pb_grpc.add_ImageServiceServicer_to_server(ImageServiceServicer(pool, limits, metrics), server)

    async def shutdown_pool() -> None:
        await asyncio.to_thread(pool.shutdown)

    return await grpc_server.start_server(
        server,
        settings.listen,
        [SERVICE_NAME],
        [shutdown_pool],
        metrics_listen=settings.metrics_listen,
        drain=drain,
        drain_delay=settings.drain_delay,
        registry=registry,
    )


async def serve(settings: ImageServiceSettings, registry: CollectorRegistry) -> None:
    running = await create_server(settings, registry)
    logger.info(
        "image service listening on %s (port %d), %d workers, queue %d",
        settings.listen,
        running.port,
        settings.workers,
        settings.queue_depth,
    )
    await running.serve_until_signalled(settings.shutdown_grace)
    logger.info("image service stopped")


def main(settings: ImageServiceSettings) -> None:
    limit_malloc_arenas()
    configure_logging(settings.log_format, settings.log_level, "image-service")
    configure_pillow(settings.max_pixels)
    asyncio.run(serve(settings, CollectorRegistry()))
