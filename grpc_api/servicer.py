"""The ImageScaler servicer: get the bytes, read the header, decide, forward."""

from __future__ import annotations

from typing import Any

from grpc_api.download import Downloader
from grpc_api.image_client import ImageServiceClient
from grpc_api.scaling import decide_scaling
from grpc_api.settings import ApiSettings
from grpc_stubs import image_service_v1_pb2 as image_pb
from grpc_stubs import imagescaler_pb2 as api_pb
from grpc_stubs import imagescaler_pb2_grpc as api_grpc
from image_service.formats import Limits, read_header
from imagescaler.errors import InvalidRequest

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
        self, settings: ApiSettings, downloader: Downloader, images: ImageServiceClient
    ) -> None:
        self._settings = settings
        self._downloader = downloader
        self._images = images
        self._limits = Limits(settings.max_image_bytes, settings.max_pixels)

    async def ScaleImage(self, request: Any, context: Any) -> Any:
        data = await self._obtain_bytes(request.image)
        # Header only: no pixels are decoded here, so the event loop is not held up.
        header = read_header(data, self._limits)
        scale = decide_scaling(
            header.upright_size, self._settings.target_size, self._settings.margin
        )
        reply = await self._images.process(self._image_request(data, scale))
        return api_pb.ScaleImageReply(content=reply.image)

    async def _obtain_bytes(self, image: Any) -> bytes:
        if image.content:
            content: bytes = image.content
            return content
        url = image.source.http_uri.strip()
        if not url:
            raise InvalidRequest(
                "no image: set image.content to the bytes or image.source.http_uri to a URL"
            )
        return await self._downloader.fetch(url)

    def _image_request(self, data: bytes, scale: bool) -> Any:
        settings = self._settings
        request = image_pb.ProcessRequest(
            image=data,
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
