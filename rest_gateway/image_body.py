"""An image request's body: a multipart upload in field `file`, or JSON {"url": ...}."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from rest_gateway.errors import GatewayError
from rest_gateway.schemas import ScaleUrlRequest


@dataclass
class ImageBody:
    """A request's image: the uploaded bytes, or a URL. The bytes have one owner at a time:
    `take()` hands them to the request message being written and keeps no reference, so a
    21 MB upload is held once while it is forwarded, not once more by the route."""

    url: str = ""
    _content: bytes = field(default=b"", repr=False)

    def take(self) -> bytes:
        content, self._content = self._content, b""
        return content


async def read_image_body(request: Request) -> ImageBody:
    """The upload's bytes, or the URL from a JSON body."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        return ImageBody(_content=await _read_upload(request))
    if media_type == "application/json":
        try:
            body = ScaleUrlRequest.model_validate_json(await request.body())
        except ValidationError as error:
            problems = "; ".join(p["msg"] for p in error.errors())
            raise GatewayError(
                400, "invalid_request", f"the JSON body is invalid: {problems}"
            ) from None
        return ImageBody(url=body.url)
    raise GatewayError(
        415,
        "unsupported_media_type",
        "send multipart/form-data with a `file` field, or application/json with a `url`",
    )


async def _read_upload(request: Request) -> bytes:
    async with request.form(max_files=1, max_fields=4) as form:
        upload = form.get("file")
        if "url" in form and upload is not None:
            raise GatewayError(400, "invalid_request", "send either a file or a url, not both")
        if not isinstance(upload, UploadFile):
            raise GatewayError(400, "invalid_request", "the multipart body has no `file` field")
        return await upload.read()
