"""The ImageService gRPC servicer: a job (image bytes and a profile) through preprocess()."""

from __future__ import annotations

import grpc

from grpc_stubs import image_service_v1_pb2 as pb
from grpc_stubs import image_service_v1_pb2_grpc as pb_grpc
from image_service.job_profiles import profile_from_job
from image_service.worker_pool import WorkerPool
from imagescaler.imaging.formats import Limits
from imagescaler.imaging.jxl_header import is_jxl
from imagescaler.imaging.preprocess import Result, preprocess
from imagescaler.messages import WithPayload, payload_apart, preprocess_reply_wire
from imagescaler.runtime.errors import InvalidRequest
from imagescaler.runtime.image_metrics import ImageMetrics
from imagescaler.runtime.memory_budget import MemoryBudget
from imagescaler.runtime.request_context import annotate

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ImageService"].full_name
# Preprocess's request deserializer: the job's image apart from its small fields.
JOB_IMAGE = payload_apart(pb.PreprocessJob, "image")


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
        self._limits = limits
        self._budget = budget
        self._max_reply_bytes = max_reply_bytes
        self._metrics = metrics

    async def Preprocess(
        self, request: WithPayload[pb.PreprocessJob], context: grpc.aio.ServicerContext
    ) -> bytes:
        # The image arrives apart from the job (JOB_IMAGE): held once, here.
        image = request.take()
        if not image:
            raise InvalidRequest("no image: the job carries no image bytes")
        profile = profile_from_job(
            request.message.profile_json, self._limits.max_pixels, self._max_reply_bytes
        )
        annotate(bytes_in=len(image), profile=profile.name)
        result = await self._pool.run(
            preprocess,
            image,
            profile,
            self._limits,
            self._budget,
            heavy=is_jxl(image),  # its cost is in its decode tree, not its size
        )
        self._record(len(image), result)
        return preprocess_reply_wire(result)  # a serialised PreprocessReply

    def _record(self, size: int, result: Result) -> None:
        """One request, one set of figures: input, stages, output (every profile alike)."""
        width, height = result.geometry.upright_size
        out_width, out_height = result.geometry.output_size
        output_bytes = result.array.nbytes if result.array is not None else len(result.data or b"")
        annotate(
            size_in=f"{width}x{height}",
            size_out=f"{out_width}x{out_height}",
            format=result.source_format,
            bytes_out=output_bytes,
        )
        if self._metrics is not None:
            self._metrics.observe_input(size, width, height, result.source_format)
            self._metrics.observe_stages(result.stage_seconds)
            self._metrics.output_bytes.observe(output_bytes)
