"""The ImageService gRPC servicer: proto messages to plain options and back."""

from __future__ import annotations

from typing import cast

import grpc

from grpc_stubs import image_service_v1_pb2 as pb
from grpc_stubs import image_service_v1_pb2_grpc as pb_grpc
from grpc_stubs import preprocess_v1_pb2 as pre_pb
from image_service.preprocess_replies import preprocess_reply, profile_from_job
from image_service.worker_pool import WorkerPool
from imagescaler.imaging.formats import Limits
from imagescaler.imaging.geometry import ResizeMode, ResizeSpec
from imagescaler.imaging.jxl_header import is_jxl
from imagescaler.imaging.preprocess import preprocess
from imagescaler.imaging.processing import (
    DEFAULT_QUALITY,
    ProcessedImage,
    ProcessingOptions,
    process_image,
)
from imagescaler.runtime.errors import InvalidRequest
from imagescaler.runtime.image_metrics import ImageMetrics
from imagescaler.runtime.memory_budget import MemoryBudget
from imagescaler.runtime.request_context import annotate

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ImageService"].full_name

_MODES = {
    pb.RESIZE_MODE_UNSPECIFIED: ResizeMode.STRETCH,
    pb.RESIZE_MODE_STRETCH: ResizeMode.STRETCH,
    pb.RESIZE_MODE_FIT: ResizeMode.FIT,
    pb.RESIZE_MODE_COVER: ResizeMode.COVER,
    pb.RESIZE_MODE_PAD: ResizeMode.PAD,
}
_OUTPUT_FORMATS = {
    pb.IMAGE_FORMAT_UNSPECIFIED: None,
    pb.IMAGE_FORMAT_JPEG: "JPEG",
    pb.IMAGE_FORMAT_PNG: "PNG",
    pb.IMAGE_FORMAT_WEBP: "WEBP",
}


class ImageServiceServicer(pb_grpc.ImageServiceServicer):
    def __init__(
        self,
        pool: WorkerPool,
        limits: Limits,
        budget: MemoryBudget,
        max_reply_bytes: int,
        metrics: ImageMetrics | None = None,
    ) -> None:
        self._pool = pool
        self._max_reply_bytes = max_reply_bytes
        self._limits = limits
        self._budget = budget
        self._metrics = metrics

    async def Process(
        self, request: pb.ProcessRequest, context: grpc.aio.ServicerContext
    ) -> pb.ProcessReply:
        options = options_from_request(request)
        annotate(bytes_in=len(request.image))
        result = await self._pool.run(
            process_image,
            request.image,
            options,
            self._limits,
            self._budget,
            heavy=is_jxl(request.image),
        )
        self._record(len(request.image), result)
        return reply_from_result(result)

    async def Preprocess(
        self, request: pb.PreprocessJob, context: grpc.aio.ServicerContext
    ) -> pre_pb.PreprocessReply:
        if not request.image:
            raise InvalidRequest("no image: the job carries no image bytes")
        profile = profile_from_job(
            request.profile_json, self._limits.max_pixels, self._max_reply_bytes
        )
        annotate(bytes_in=len(request.image), profile=profile.name)
        result = await self._pool.run(
            preprocess,
            request.image,
            profile,
            self._limits,
            self._budget,
            heavy=is_jxl(request.image),  # its cost is in its decode tree, not its size
        )
        width, height = result.geometry.upright_size
        annotate(size_in=f"{width}x{height}", format=result.source_format)
        if self._metrics is not None:
            self._metrics.observe_input(len(request.image), width, height, result.source_format)
        return preprocess_reply(result)

    def _record(self, size: int, result: ProcessedImage) -> None:
        width, height = result.source.upright_size
        annotate(
            bytes_out=len(result.data),
            size_in=f"{width}x{height}",
            size_out=f"{result.width}x{result.height}",
            format=result.source.format,
        )
        if self._metrics is not None:
            self._metrics.observe_input(size, width, height, result.source.format)
            self._metrics.observe_stages(result.stage_seconds)
            self._metrics.output_bytes.observe(len(result.data))


def options_from_request(request: pb.ProcessRequest) -> ProcessingOptions:
    if not request.image:
        raise InvalidRequest("no image: the request carries no image bytes")
    resize = None
    if request.HasField("resize"):
        if request.resize.mode not in _MODES:
            raise InvalidRequest(f"unknown resize mode {request.resize.mode}")
        fill = request.resize.fill_rgb
        resize = ResizeSpec(
            request.resize.width,
            request.resize.height,
            _MODES[request.resize.mode],
            ((fill >> 16) & 0xFF, (fill >> 8) & 0xFF, fill & 0xFF),
        )
    if request.output.format not in _OUTPUT_FORMATS:
        name = (
            pb.ImageFormat.Name(request.output.format)
            if request.output.format in pb.ImageFormat.values()
            else request.output.format
        )
        raise InvalidRequest(f"output format {name} cannot be encoded; use JPEG, PNG or WEBP")
    return ProcessingOptions(
        resize=resize,
        grayscale=request.grayscale,
        output_format=_OUTPUT_FORMATS[request.output.format],
        quality=request.output.quality or DEFAULT_QUALITY,
    )


def format_enum(name: str) -> pb.ImageFormat:
    return cast(pb.ImageFormat, pb.ImageFormat.Value(f"IMAGE_FORMAT_{name}"))


def reply_from_result(result: ProcessedImage) -> pb.ProcessReply:
    source_width, source_height = result.source.upright_size
    return pb.ProcessReply(
        image=result.data,
        result=pb.ImageInfo(
            width=result.width, height=result.height, format=format_enum(result.format)
        ),
        source=pb.ImageInfo(
            width=source_width, height=source_height, format=format_enum(result.source.format)
        ),
        scaled=result.scaled,
        grayscaled=result.grayscaled,
    )
