"""imagescaler.preprocess.v1.Preprocessor: images through named profiles, one at a time or as
a stream; the profiles; header facts. The pixel work is the image service's."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import grpc

from grpc_api.image_service_client import ImageServiceClient, preprocess_job
from grpc_api.image_sources import ImageSources
from grpc_api.profile_catalog import ProfileCatalog
from grpc_api.stream_window import StreamWindow
from grpc_stubs import preprocess_v1_pb2 as pre_pb
from grpc_stubs import preprocess_v1_pb2_grpc as pre_grpc
from imagescaler.imaging.formats import Limits, read_header
from imagescaler.imaging.inspection import inspect_image
from imagescaler.messages import WithPayload, payload_apart, with_field
from imagescaler.runtime.errors import ServiceError, reason_of, status_name_of
from imagescaler.runtime.request_context import annotate

logger = logging.getLogger(__name__)
SERVICE_NAME = pre_pb.DESCRIPTOR.services_by_name["Preprocessor"].full_name
# Request deserializers that keep an uploaded image apart from its message: a handler holds it
# once, then only in the job it sends on (imagescaler.messages.WithPayload).
UPLOADS = {
    "Preprocess": payload_apart(pre_pb.PreprocessRequest, "image.content"),
    "PreprocessStream": payload_apart(pre_pb.StreamRequest, "image.content"),
}
Request = WithPayload[pre_pb.PreprocessRequest]
StreamItem = WithPayload[pre_pb.StreamRequest]


class PreprocessorServicer(pre_grpc.PreprocessorServicer):
    def __init__(
        self,
        profiles: ProfileCatalog,
        sources: ImageSources,
        images: ImageServiceClient,
        limits: Limits,
        *,
        stream_window: int,
        stream_reply_bytes: int,
    ) -> None:
        self._profiles = profiles
        self._sources = sources
        self._images = images
        self._limits = limits
        self._stream_window = stream_window
        self._stream_reply_bytes = stream_reply_bytes

    async def Preprocess(self, request: Request, context: grpc.aio.ServicerContext) -> bytes:
        """The image service's reply, passed on as it came (a serialised PreprocessReply)."""
        fields = request.message
        annotate(profile=fields.profile or "default")
        return await self._preprocess(request.take(), fields.image.url, fields.profile)

    async def PreprocessStream(
        self, requests: AsyncIterator[StreamItem], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bytes]:
        """At most stream_window images in work or waiting to be sent, and stream_reply_bytes
        of their replies (stream_window.py); the next request is read only when there is
        room, so HTTP/2 flow control slows a client that sends faster than we work, or reads
        slower, and a client that never reads holds a bounded share of memory."""
        window = StreamWindow(self._stream_window, self._stream_reply_bytes)
        replies: asyncio.Queue[bytes | None] = asyncio.Queue()
        feeder = asyncio.create_task(self._feed(requests, window, replies))
        try:
            while (reply := await replies.get()) is not None:
                yield reply
                await window.sent(len(reply))
            await feeder  # a failure of the request stream itself ends the call with it
        finally:
            feeder.cancel()

    async def _feed(
        self,
        requests: AsyncIterator[StreamItem],
        window: StreamWindow,
        replies: asyncio.Queue[bytes | None],
    ) -> None:
        items: set[asyncio.Task[None]] = set()
        messages = aiter(requests)
        try:
            while True:
                await window.take()
                item = await anext(messages, None)
                if item is None:
                    await window.give_back()
                    break
                task = asyncio.create_task(self._one(item, replies, window))
                items.add(task)
                task.add_done_callback(items.discard)
            await asyncio.gather(*items)
        finally:
            for task in items:
                task.cancel()
            await replies.put(None)

    async def _one(
        self,
        request: StreamItem,
        replies: asyncio.Queue[bytes | None],
        window: StreamWindow,
    ) -> None:
        item = request.message
        try:
            result = await self._preprocess(request.take(), item.image.url, item.profile)
            ok = pre_pb.StreamReply(id=item.id, code=grpc.StatusCode.OK.value[0])
            reply = with_field(ok, "result", result)  # the image service's reply, unparsed
        except ServiceError as error:
            code = grpc.StatusCode[status_name_of(error)].value[0]
            reply = pre_pb.StreamReply(
                id=item.id, code=code, reason=reason_of(error), message=error.message
            ).SerializeToString()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the stream is ending: nothing waits for this reply
            # A call below was cancelled (its channel closed), not this item: answer it, or
            # the window would wait for its reply for ever.
            reply = self._internal_error(item)
        except Exception:
            logger.exception("unexpected error on stream item %r", item.id)
            reply = self._internal_error(item)
        await window.made(len(reply))
        await replies.put(reply)

    @staticmethod
    def _internal_error(item: pre_pb.StreamRequest) -> bytes:
        code = grpc.StatusCode.INTERNAL.value[0]
        return pre_pb.StreamReply(
            id=item.id, code=code, reason="internal", message="internal error"
        ).SerializeToString()

    async def _preprocess(self, content: bytes, url: str, name: str) -> bytes:
        """The image service's reply for the image (`content`, else fetched from `url`)."""
        profile = self._profiles.get(name)
        data = await self._sources.obtain(content, url)
        del content  # `data` is the one reference now
        await asyncio.to_thread(read_header, data, self._limits)  # limits, before any transfer
        job = preprocess_job(data, profile.model_dump_json())
        del data  # only the job is held while the image service works
        return await self._images.preprocess_wire(job)

    async def ListProfiles(
        self, request: pre_pb.ListProfilesRequest, context: grpc.aio.ServicerContext
    ) -> pre_pb.ListProfilesReply:
        return pre_pb.ListProfilesReply(
            profiles=[
                pre_pb.ProfileInfo(
                    name=profile.name,
                    version=profile.version,
                    ref=profile.reference,
                    description=profile.description,
                    spec_json=profile.model_dump_json(exclude={"description"}),
                )
                for profile in self._profiles.all()
            ]
        )

    async def Inspect(
        self, request: pre_pb.InspectRequest, context: grpc.aio.ServicerContext
    ) -> pre_pb.InspectReply:
        data = await self._sources.obtain(request.image.content, request.image.url)
        facts = await asyncio.to_thread(inspect_image, data, self._limits)
        return pre_pb.InspectReply(**facts.as_dict())
