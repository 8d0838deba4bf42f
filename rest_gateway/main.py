"""The gateway application: create_app(settings) for tests, main() for the command line."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from prometheus_client import CollectorRegistry

from imagescaler.runtime.logging_setup import configure_logging
from imagescaler.runtime.memory_tuning import FORWARDING, tune_malloc
from imagescaler.runtime.metrics_http import MetricsEndpoint
from rest_gateway.body_limit import BodySizeLimit
from rest_gateway.errors import install_error_handlers
from rest_gateway.http_protocol import guarded_protocol
from rest_gateway.identity import build_identity
from rest_gateway.limits import (
    build_limiter,
    client_address_resolver,
    limited_endpoints,
    subject_or_address,
)
from rest_gateway.observability import HttpMetrics, ObservingMiddleware
from rest_gateway.profile_outputs import ProfileOutputs
from rest_gateway.request_id import RequestIdMiddleware
from rest_gateway.response_headers import ResponseHeadersMiddleware
from rest_gateway.routes import health, images, page, preprocessing, tokens
from rest_gateway.scaler_api_client import ScalerApiClient
from rest_gateway.settings import GatewaySettings
from rest_gateway.upload_admission import UploadAdmission

logger = logging.getLogger(__name__)
DOCS_ASSETS = "/docs-assets"

DESCRIPTION = """
Image pre-processing for machine-learning pipelines: one pipeline for training and serving.
A named, versioned profile turns an image into exactly the tensor (`.npy`) or image a model
expects, with the geometry to map predictions back to the photo; the same function runs in
training code (`from imagescaler import preprocess`) and in bulk runs (`imagescaler batch`).

1. Get a token: `POST /v1/token` with your user name and password (or use a
   token from your identity provider). The **Authorize** button does this here.
2. `GET /v1/profiles` lists the profiles with their references.
3. `POST /v1/preprocess?profile=NAME` with the image as multipart field `file`, or JSON
   `{"url": "https://..."}`: the image, a `.npy`, or JSON (`Accept: application/json`),
   with `X-Imagescaler-Profile` and `X-Imagescaler-Geometry`.
4. `POST /v1/inspect`: what the header says, no pixel decoded.
5. `POST /v1/scale`: the original scaling, every image at one size (1024x768 by default),
   in grayscale unless configured otherwise (the `default` profile).

Every error is JSON: `{"error": code, "detail": text, "request_id": id}`.
"""


def create_app(
    settings: GatewaySettings,
    limiter_prefix: str = "imagescaler",
    registry: CollectorRegistry | None = None,
) -> FastAPI:
    """The gateway for these settings: its identity, limits, API client and routes."""
    identity = build_identity(settings)
    limiter = build_limiter(settings, limiter_prefix)
    registry = registry if registry is not None else CollectorRegistry()
    metrics = HttpMetrics(registry)
    api = ScalerApiClient(settings.api, settings.max_message_bytes, settings.api_timeout, registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # /metrics on a port of its own, as the gRPC services have: not on the public one.
        listen = settings.metrics_listen
        endpoint = MetricsEndpoint(listen, registry) if listen else None
        app.state.metrics_port = endpoint.port if endpoint else None
        if endpoint is not None:
            logger.info("gateway metrics on %s (port %d)", listen, endpoint.port)
        yield
        await api.close()
        if endpoint is not None:
            await asyncio.to_thread(endpoint.close)

    # Swagger UI and ReDoc from the installed package, not a CDN: the docs work offline and
    # in air-gapped clusters.
    app = FastAPIOffline(
        static_url=DOCS_ASSETS,
        title="imagescaler",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        # The token stays in the page, not in localStorage: /docs allows inline scripts (its
        # start), so anything injected there could read a stored token.
        swagger_ui_parameters={"persistAuthorization": False},
        # No 307 to a Host-header URL for a trailing slash: an open redirect otherwise.
        redirect_slashes=False,
    )
    app.state.identity = identity
    app.state.api = api
    app.state.profile_outputs = ProfileOutputs(api)
    app.state.metrics = metrics
    app.state.registry = registry
    app.state.limiter = limiter
    per_caller = subject_or_address(limiter)
    app.state.limited_endpoints = limited_endpoints(
        limiter,
        {
            "scale": (images.scale, settings.rate_limit, per_caller),
            "preprocess": (preprocessing.preprocess, settings.rate_limit, per_caller),
            "profiles": (preprocessing.profiles, settings.rate_limit, per_caller),
            "inspect": (preprocessing.inspect, settings.rate_limit, per_caller),
            "token": (tokens.token, settings.token_rate_limit, None),
        },
    )
    install_error_handlers(app)
    app.include_router(images.router)
    app.include_router(preprocessing.router)
    if identity.issuer is not None and identity.users:
        app.include_router(tokens.router)
    app.include_router(health.router)
    app.include_router(page.router)
    # Only the page's assets: web/static holds nothing else (no Python source is served).
    app.mount("/static", StaticFiles(directory=str(page.WEB_ROOT / "static")), name="static")
    # Starlette runs the middleware added last first. From the outside in: request id,
    # observing, response headers, CORS, the body-size limit, then upload admission, so a
    # body declared over the limit is 413 before admission counts it, however busy.
    app.add_middleware(
        UploadAdmission,
        max_uploads=settings.max_uploads_in_flight,
        max_bytes=settings.max_upload_bytes_in_flight,
        body_limit=settings.body_limit,
        per_address=settings.max_uploads_per_address,
        client_address=client_address_resolver(settings.trusted_proxies),
    )
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.body_limit,
        stated_limit=settings.max_image_bytes,
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
    app.add_middleware(ResponseHeadersMiddleware)
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


class GatewayServer(uvicorn.Server):
    """uvicorn, saying which port it bound once it has: `imagescaler up` and the tests read
    it from this line when the port is 0."""

    def __init__(self, config: uvicorn.Config, api: str) -> None:
        super().__init__(config)
        self._api = api

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.servers:
            port = self.servers[0].sockets[0].getsockname()[1]
            logger.info(
                "gateway listening on %s (port %d): API %s", self.config.host, port, self._api
            )


def main(settings: GatewaySettings) -> None:
    tune_malloc(FORWARDING)
    configure_logging(settings.log_format, settings.log_level, "gateway")
    app = create_app(settings, registry=CollectorRegistry())
    asyncio.run(GatewayServer(uvicorn_config(app, settings), settings.api).serve())
