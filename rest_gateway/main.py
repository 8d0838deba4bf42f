"""The gateway application: create_app(settings) for tests, main() for the command line."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

import uvicorn
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.responses import FileResponse, Response

from rest_gateway.body_limit import BodySizeLimit
from rest_gateway.errors import install_error_handlers
from rest_gateway.http_protocol import guarded_protocol
from rest_gateway.identity import Identity, build_identity
from rest_gateway.limits import build_limiter
from rest_gateway.observability import HttpMetrics, ObservingMiddleware
from rest_gateway.request_id import RequestIdMiddleware
from rest_gateway.routes import build_router
from rest_gateway.scaler_api_client import ScalerApiClient
from rest_gateway.settings import GatewaySettings

logger = logging.getLogger(__name__)
WEB_ROOT = resources.files("web")
MULTIPART_OVERHEAD = 64 * 1024
DOCS_ASSETS = "/docs-assets"

DESCRIPTION = """
Scale images for machine-learning pipelines: every image comes back at one size
(1024x768 by default), in grayscale unless configured otherwise.

1. Get a token: `POST /v1/token` with your user name and password (or use a
   token from your identity provider). The **Authorize** button does this here.
2. `POST /v1/scale` with the image as multipart field `file`, or JSON
   `{"url": "https://..."}`.

Every error is JSON: `{"error": code, "detail": text, "request_id": id}`.
"""


def create_app(
    settings: GatewaySettings,
    identity: Identity | None = None,
    limiter_prefix: str = "imagescaler",
    registry: CollectorRegistry | None = None,
) -> FastAPI:
    identity = identity or build_identity(settings)
    limiter = build_limiter(settings, limiter_prefix)
    registry = registry if registry is not None else CollectorRegistry()
    metrics = HttpMetrics(registry)
    api = ScalerApiClient(settings.api, settings.max_message_bytes, settings.api_timeout, registry)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await api.close()

    # Swagger UI and ReDoc from the installed package, not a CDN: the docs work offline and
    # in air-gapped clusters.
    app = FastAPIOffline(
        static_url=DOCS_ASSETS,
        title="imagescaler",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        swagger_ui_parameters={"persistAuthorization": True},
    )
    app.state.limiter = limiter
    app.state.metrics = metrics
    install_error_handlers(app)
    app.include_router(build_router(settings, identity, limiter, api, metrics))
    app.mount("/static", StaticFiles(directory=str(WEB_ROOT)), name="static")

    @app.get("/", include_in_schema=False)
    async def upload_page() -> FileResponse:
        return FileResponse(str(WEB_ROOT / "index.html"))

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_image_bytes + MULTIPART_OVERHEAD,
        timeout=settings.body_timeout,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=[
                "X-Image-Width",
                "X-Image-Height",
                "Server-Timing",
                "X-Request-ID",
                "Retry-After",
            ],
        )
    app.add_middleware(ObservingMiddleware, metrics=metrics)
    app.add_middleware(RequestIdMiddleware)
    return app


def uvicorn_config(
    app: FastAPI, settings: GatewaySettings, port: int | None = None
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        http=guarded_protocol(settings.header_timeout, settings.max_header_bytes),
        host=settings.host,
        port=settings.port if port is None else port,
        log_config=None,
        access_log=False,
        proxy_headers=False,  # X-Forwarded-For is judged by the rate limiter's trusted proxies
        server_header=False,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=int(settings.shutdown_grace),
    )


def main(settings: GatewaySettings) -> None:
    from imagescaler.runtime.logging_setup import configure_logging
    from imagescaler.runtime.memory_tuning import limit_malloc_arenas

    limit_malloc_arenas()
    configure_logging(settings.log_format, settings.log_level, "gateway")
    app = create_app(settings, registry=CollectorRegistry())
    server = uvicorn.Server(uvicorn_config(app, settings))
    logger.info("gateway listening on http://%s (API %s)", settings.listen, settings.api)
    asyncio.run(server.serve())
