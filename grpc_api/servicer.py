"""The ImageScaler servicer: get the bytes, read the header, decide, forward."""

from __future__ import annotations

import asyncio

import grpc

from grpc_api.image_service_client import ImageServiceClient
from grpc_api.image_sources import ImageSources
from grpc_api.scaling import decide_scaling
from grpc_api.settings import ApiSettings
from grpc_stubs import image_service_v1_pb2 as image_pb
from grpc_stubs import imagescaler_pb2 as api_pb
from grpc_stubs import imagescaler_pb2_grpc as api_grpc
from imagescaler.imaging.formats import Limits, read_header
from imagescaler.runtime.image_metrics import ImageMetrics
from imagescaler.runtime.request_context import annotate

SERVICE_NAME = api_pb.DESCRIPTOR.services_by_name["ImageScaler"].full_name

_RESIZE_MODES = {
    "stretch": image_pb.RESIZE_MODE_STRETCH,
    "fit": image_pb.RESIZE_MODE_FIT,
    "cover": image_pb.RESIZE_MODE_COVER,
    "pad": image_pb.RESIZE_MODE_PAD,
}
_FORMATS = {
    "jpeg": image_pb.IMAGE_FORMAT_JPEG,
    "png": image_pb.IMAGE_FORMAT_PNG,
    "webp": image_pb.IMAGE_FORMAT_WEBP,
}


class ImageScalerServicer(api_grpc.ImageScalerServicer):
    def __init__(
        self,
        settings: ApiSettings,
        sources: ImageSources,
        images: ImageServiceClient,
        metrics: ImageMetrics | None = None,
    ) -> None:
        self._settings = settings
        self._sources = sources
        self._images = images
        self._metrics = metrics
        self._limits = Limits.from_settings(settings)

    async def ScaleImage(
        self, request: api_pb.ScaleImageRequest, context: grpc.aio.ServicerContext
    ) -> api_pb.ScaleImageReply:
        image = request.image
        data = await self._sources.obtain(image.content, image.source.http_uri)
        # Header only, and in a thread: untrusted bytes never hold up the event loop.
        header = await asyncio.to_thread(read_header, data, self._limits)
        width, height = header.upright_size
        scale = decide_scaling((width, height), self._settings.target_size, self._settings.margin)
        annotate(
            bytes_in=len(data), size_in=f"{width}x{height}", format=header.format, scaled=scale
        )
        if self._metrics is not None:
            self._metrics.observe_input(len(data), width, height, header.format)
            self._metrics.scaling.labels("api", str(scale).lower()).inc()
        reply = await self._images.process(data, self._image_request(scale))
        annotate(bytes_out=len(reply.image), size_out=f"{reply.result.width}x{reply.result.height}")
        if self._metrics is not None:
            self._metrics.output_bytes.observe(len(reply.image))
        return api_pb.ScaleImageReply(content=reply.image)

    def _image_request(self, scale: bool) -> image_pb.ProcessRequest:
        """Everything the image service needs but the image, which the client adds."""
        settings = self._settings
        request = image_pb.ProcessRequest(
            grayscale=settings.grayscale,
            output=image_pb.Output(
                format=_FORMATS[settings.output_format], quality=settings.quality
            ),
        )
        if scale:
            request.resize.CopyFrom(
                image_pb.Resize(
                    width=settings.target_size.width,
                    height=settings.target_size.height,
                    mode=_RESIZE_MODES[settings.resize_mode],
                    fill_rgb=int(settings.pad_colour[1:], 16),
                )
            )
        return request
