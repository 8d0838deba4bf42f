"""The ImageScaler API process: create_server(settings) for tests, main() for the command line."""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import CollectorRegistry

from grpc_api.download import Downloader
from grpc_api.image_service_client import ImageServiceClient
from grpc_api.servicer import SERVICE_NAME, ImageScalerServicer
from grpc_api.settings import ApiSettings
from grpc_api.url_policy import AddressPolicy
from grpc_stubs import imagescaler_pb2_grpc as api_grpc
from imagescaler.imaging.formats import configure_pillow
from imagescaler.runtime import grpc_server
from imagescaler.runtime.grpc_interceptors import Drain
from imagescaler.runtime.grpc_server import RunningServer
from imagescaler.runtime.image_metrics import ImageMetrics
from imagescaler.runtime.logging_setup import configure_logging
from imagescaler.runtime.memory_tuning import limit_malloc_arenas

logger = logging.getLogger(__name__)


async def create_server(
    settings: ApiSettings, registry: CollectorRegistry | None = None
) -> RunningServer:
    """Start the API on settings.listen (port 0 picks one) and mark it SERVING."""
    registry = registry if registry is not None else CollectorRegistry()
    downloader = Downloader(
        max_bytes=settings.max_image_bytes,
        total_timeout=settings.download_timeout,
        connect_timeout=settings.connect_timeout,
        max_redirects=settings.max_redirects,
        policy=AddressPolicy.from_settings(
            settings.allow_private_urls, settings.allowed_url_networks
        ),
    )
    images = ImageServiceClient(
        settings.image_service, settings.max_message_bytes, settings.image_service_timeout, registry
    )
    drain = Drain()
    server = grpc_server.create_grpc_server(
        settings.max_message_bytes, registry, settings.max_connection_age, drain
    )
    metrics = ImageMetrics(registry, "api")
    servicer = ImageScalerServicer(settings, downloader, images, metrics)
    api_grpc.add_ImageScalerServicer_to_server(servicer, server)
    return await grpc_server.start_server(
        server,
        settings.listen,
        [SERVICE_NAME],
        [downloader.close, images.close],
        metrics_listen=settings.metrics_listen,
        drain=drain,
        drain_delay=settings.drain_delay,
        registry=registry,
    )


async def serve(settings: ApiSettings, registry: CollectorRegistry) -> None:
    running = await create_server(settings, registry)
    logger.info(
        "ImageScaler API listening on %s (port %d): %s, grayscale %s, margin %g, image service %s",
        settings.listen,
        running.port,
        settings.target_size,
        settings.grayscale,
        settings.margin,
        settings.image_service,
    )
    await running.serve_until_signalled(settings.shutdown_grace)
    logger.info("ImageScaler API stopped")


def main(settings: ApiSettings) -> None:
    limit_malloc_arenas()
    configure_logging(settings.log_format, settings.log_level, "api")
    configure_pillow(settings.max_pixels)
    asyncio.run(serve(settings, CollectorRegistry()))
