"""The API's client of the image service: one long-lived channel, deadlines, errors passed on."""

from __future__ import annotations

from grpc_stubs import image_service_v1_pb2 as image_pb
from grpc_stubs import image_service_v1_pb2_grpc as image_grpc
from grpc_stubs import preprocess_v1_pb2 as pre_pb
from imagescaler.runtime.grpc_client import UpstreamClient


class ImageServiceClient(UpstreamClient):
    peer = "image service"
    reason_prefix = "image_service"

    async def process(self, request: image_pb.ProcessRequest) -> image_pb.ProcessReply:
        """ImageService.Process; a failure becomes an UpstreamError with the same status."""
        reply: image_pb.ProcessReply = await self.call(
            image_grpc.ImageServiceStub(self.channel).Process, request
        )
        return reply

    async def preprocess(self, job: image_pb.PreprocessJob) -> pre_pb.PreprocessReply:
        """ImageService.Preprocess; the reply is passed on to the caller as it is."""
        reply: pre_pb.PreprocessReply = await self.call(
            image_grpc.ImageServiceStub(self.channel).Preprocess, job
        )
        return reply
