"""The ImageScaler API process: create_server(settings) for tests, main() for the command line."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry

from grpc_api.download import Downloader
from grpc_api.image_scaler import SERVICE_NAME as SCALER
from grpc_api.image_scaler import UPLOAD, ImageScalerServicer
from grpc_api.image_service_client import ImageServiceClient
from grpc_api.image_sources import ImageSources
from grpc_api.object_download import ObjectFetcher
from grpc_api.preprocessor import SERVICE_NAME as PREPROCESSOR
from grpc_api.preprocessor import UPLOADS, PreprocessorServicer
from grpc_api.profile_catalog import ProfileCatalog, default_from_settings
from grpc_api.settings import ApiSettings
from grpc_api.url_policy import AddressPolicy
from grpc_stubs import imagescaler_pb2_grpc as api_grpc
from grpc_stubs import preprocess_v1_pb2_grpc as pre_grpc
from imagescaler.grpc_runtime.server import RunningServer, run_service, start_service
from imagescaler.grpc_runtime.wire_methods import add_servicer
from imagescaler.imaging.formats import Limits, configure_pillow
from imagescaler.runtime.bearer_tokens import TokenVerifier, load_public_keys
from imagescaler.runtime.image_metrics import ImageMetrics
from imagescaler.runtime.memory_tuning import FORWARDING


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
    metrics = ImageMetrics(registry, "api")
    objects = ObjectFetcher(
        settings.s3_allowed_buckets,
        settings.max_image_bytes,
        settings.download_timeout,
        settings.s3_endpoint,
    )
    sources = ImageSources(downloader, objects, metrics)
    limits = Limits.from_settings(settings)
    scaler = ImageScalerServicer(default_from_settings(settings), limits, sources, images, metrics)
    preprocessor = PreprocessorServicer(
        ProfileCatalog.from_settings(settings),
        sources,
        images,
        limits,
        stream_window=settings.stream_window,
        stream_reply_bytes=settings.stream_reply_bytes,
    )

    def add_servicers(server: Any) -> list[str]:
        # Uploads are held once (image_scaler.UPLOAD, preprocessor.UPLOADS), and the image
        # service's replies passed on as they came, unparsed.
        add_servicer(
            api_grpc.add_ImageScalerServicer_to_server,
            scaler,
            server,
            deserializers={"ScaleImage": UPLOAD},
        )
        add_servicer(
            pre_grpc.add_PreprocessorServicer_to_server,
            preprocessor,
            server,
            raw_replies=["Preprocess", "PreprocessStream"],
            deserializers=UPLOADS,
        )
        return [SCALER, PREPROCESSOR]

    return await start_service(
        settings,
        add_servicers,
        [downloader.close, objects.close, images.close],
        registry,
        verifier=token_verifier(settings),
    )


def token_verifier(settings: ApiSettings) -> TokenVerifier | None:
    """The verifier of callers' tokens, from --jwt-public-keys-file; None: no token needed."""
    if settings.jwt_public_keys_file is None:
        return None
    return TokenVerifier(
        load_public_keys(settings.jwt_public_keys_file),
        settings.jwt_issuer,
        settings.jwt_audience,
        settings.jwt_clock_skew,
        settings.jwt_max_lifetime,
    )


def main(settings: ApiSettings) -> None:
    configure_pillow(settings.max_pixels)
    summary = (
        f"{settings.target_size}, grayscale {settings.grayscale}, margin {settings.margin:g}, "
        f"image service {settings.image_service}, "
        + (
            f"tokens checked against {settings.jwt_public_keys_file}"
            if settings.jwt_public_keys_file
            else "no token asked for (set --jwt-public-keys-file where others can reach it)"
        )
    )
    run_service("api", settings, create_server, FORWARDING, summary)
