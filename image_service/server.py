"""The image service process: create_server(settings) for tests, main() for the command line."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from grpc_stubs import image_service_v1_pb2_grpc as pb_grpc
from image_service.formats import Limits, configure_pillow
from image_service.servicer import SERVICE_NAME, ImageServiceServicer
from image_service.settings import ImageServiceSettings
from image_service.worker_pool import WorkerPool
from imagescaler import grpc_runtime
from imagescaler.logging_setup import configure_logging

logger = logging.getLogger(__name__)


class RunningImageService:
    """A started server with what it owns: its port, health servicer and worker pool."""

    def __init__(self, server: Any, port: int, health: Any, pool: WorkerPool) -> None:
        self.server = server
        self.port = port
        self.health = health
        self.pool = pool

    async def stop(self, grace: float | None = None) -> None:
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        self.pool.shutdown()


async def create_server(settings: ImageServiceSettings) -> RunningImageService:
    """Start the image service on settings.listen (port 0 picks one) and mark it SERVING."""
    server = grpc_runtime.create_grpc_server(settings.max_message_bytes)
    pool = WorkerPool(settings.workers, settings.queue_depth)
    limits = Limits(settings.max_image_bytes, settings.max_pixels)
    pb_grpc.add_ImageServiceServicer_to_server(ImageServiceServicer(pool, limits), server)
    health = grpc_runtime.add_health_and_reflection(server, [SERVICE_NAME])
    port = grpc_runtime.bind(server, settings.listen)
    await server.start()
    await grpc_runtime.mark_serving(health, [SERVICE_NAME])
    return RunningImageService(server, port, health, pool)


async def serve(settings: ImageServiceSettings) -> None:
    running = await create_server(settings)
    logger.info(
        "image service listening on %s (port %d), %d workers, queue %d",
        settings.listen,
        running.port,
        settings.workers,
        settings.queue_depth,
    )
    await grpc_runtime.serve_until_signalled(
        running.server, running.health, settings.shutdown_grace
    )
    running.pool.shutdown()
    logger.info("image service stopped")


def main(settings: ImageServiceSettings) -> None:
    configure_logging(settings.log_format, settings.log_level, "image-service")
    configure_pillow(settings.max_pixels)
    asyncio.run(serve(settings))
