"""The API's preprocess replies as HTTP answers: the image, a .npy, or JSON, by Accept."""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse

from grpc_stubs import preprocess_v1_pb2 as pre_pb
from imagescaler.imaging.tensors import npy_header
from imagescaler.messages import geometry_dict
from rest_gateway.negotiation import negotiate_or_406
from rest_gateway.profile_outputs import JSON, NPY


def preprocess_response(reply: pre_pb.PreprocessReply, accept: str, api_ms: float) -> Response:
    """The image (image profiles) or a .npy (tensor profiles) by default, JSON when Accept
    prefers it; 406 when Accept allows neither (the route checks that before the call too)."""
    geometry = geometry_dict(reply.geometry)
    headers = {
        "X-Imagescaler-Profile": reply.profile,
        "X-Imagescaler-Geometry": json.dumps(geometry, separators=(",", ":")),
        "Server-Timing": f"api;dur={api_ms:.1f}",
    }
    is_tensor = reply.WhichOneof("output") == "tensor"
    offers = [NPY if is_tensor else reply.image.media_type, JSON]
    if negotiate_or_406(accept, offers, f"profile {reply.profile}") == JSON:
        return JSONResponse(json_body(reply, geometry, is_tensor), headers=headers)
    if not is_tensor:
        width, height = geometry["output_size"]
        headers |= {"X-Image-Width": str(width), "X-Image-Height": str(height)}
        return Response(reply.image.data, media_type=reply.image.media_type, headers=headers)
    tensor = reply.tensor
    header = npy_header(tuple(tensor.shape), tensor.dtype)
    return Response(header + tensor.data, media_type=NPY, headers=headers)


def json_body(
    reply: pre_pb.PreprocessReply, geometry: dict[str, Any], is_tensor: bool
) -> dict[str, Any]:
    if is_tensor:
        shape, dtype, data = list(reply.tensor.shape), reply.tensor.dtype, reply.tensor.data
        media_type = NPY
    else:
        width, height = geometry["output_size"]
        shape, dtype, data = [height, width], "encoded", reply.image.data
        media_type = reply.image.media_type
    return {
        "profile": reply.profile,
        "geometry": geometry,
        "shape": shape,
        "dtype": dtype,
        "media_type": media_type,
        "data": base64.b64encode(data).decode(),
    }
