"""imagescaler.ImageScaler/ScaleImage, the original contract: the `default` profile (the
API's startup flags) through the image service's one pipeline, the image passed back."""

from __future__ import annotations

import asyncio

import grpc

from grpc_api.image_service_client import ImageServiceClient, preprocess_job
from grpc_api.image_sources import ImageSources
from grpc_stubs import imagescaler_pb2 as api_pb
from grpc_stubs import imagescaler_pb2_grpc as api_grpc
from imagescaler.imaging.formats import Limits, read_header
from imagescaler.imaging.profiles import Profile
from imagescaler.messages import WithPayload, payload_apart
from imagescaler.runtime.image_metrics import ImageMetrics
from imagescaler.runtime.request_context import annotate

SERVICE_NAME = api_pb.DESCRIPTOR.services_by_name["ImageScaler"].full_name
# ScaleImage's request deserializer: the uploaded image apart from the message.
UPLOAD = payload_apart(api_pb.ScaleImageRequest, "image.content")


class ImageScalerServicer(api_grpc.ImageScalerServicer):
    def __init__(
        self,
        default: Profile,
        limits: Limits,
        sources: ImageSources,
        images: ImageServiceClient,
        metrics: ImageMetrics | None = None,
    ) -> None:
        self._default_json = default.model_dump_json(exclude={"description"})
        self._limits = limits
        self._sources = sources
        self._images = images
        self._metrics = metrics

    async def ScaleImage(
        self,
        request: WithPayload[api_pb.ScaleImageRequest],
        context: grpc.aio.ServicerContext,
    ) -> api_pb.ScaleImageReply:
        # The upload arrives apart from the message (UPLOAD): held once, then only in the job.
        url = request.message.image.source.http_uri
        data = await self._sources.obtain(request.take(), url)
        # Header only, and in a thread: untrusted bytes never hold up the event loop.
        header = await asyncio.to_thread(read_header, data, self._limits)
        width, height = header.upright_size
        annotate(bytes_in=len(data), size_in=f"{width}x{height}", format=header.format)
        if self._metrics is not None:
            self._metrics.observe_input(len(data), width, height, header.format)
        job = preprocess_job(data, self._default_json)
        del data
        reply = await self._images.preprocess(job)
        scaled = not reply.geometry.margin_skipped
        out_width, out_height = reply.geometry.output_size
        annotate(
            bytes_out=len(reply.image.data), size_out=f"{out_width}x{out_height}", scaled=scaled
        )
        if self._metrics is not None:
            self._metrics.scaling.labels("api", str(scaled).lower()).inc()
            self._metrics.output_bytes.observe(len(reply.image.data))
        return api_pb.ScaleImageReply(content=reply.image.data)
