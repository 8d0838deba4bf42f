"""What a deployment answers, as the batch's terms: a stream's reply as an Outcome, a stream's
end as EngineFailed, and the deployment's profiles."""

from __future__ import annotations

import json

import grpc
import numpy as np

from grpc_stubs import preprocess_v1_pb2 as pre_pb
from grpc_stubs import preprocess_v1_pb2_grpc as pre_grpc
from imagescaler.cli.batch.engines import EngineFailed, Outcome, Work, tensor_outcome
from imagescaler.cli.remote_api import open_channel
from imagescaler.grpc_runtime.auth import bearer_metadata
from imagescaler.imaging.encoding import BY_MEDIA_TYPE
from imagescaler.imaging.profiles import Profile, TensorOutput
from imagescaler.imaging.tensors import recover_levels
from imagescaler.messages import geometry_dict
from imagescaler.shards.layout import LEVELS, TENSOR, tensor_spec


def stream_failure(error: BaseException) -> BaseException:
    """A stream's gRPC error as EngineFailed, saying what the server said."""
    if isinstance(error, grpc.RpcError):
        code, details = error.code(), error.details()
        name = code.name if code is not None else "UNKNOWN"
        return EngineFailed(f"the server ended a stream: {name}: {details}")
    return error


def outcome_of(index: int, reply: pre_pb.StreamReply, work: Work) -> Outcome:
    if reply.code != 0:
        return Outcome(index, reason=reply.reason or "error", message=reply.message)
    result = reply.result
    geometry = geometry_dict(result.geometry)
    output = work.profile.output
    if result.WhichOneof("output") == "tensor" and isinstance(output, TensorOutput):
        tensor = result.tensor
        array = np.frombuffer(tensor.data, np.dtype(tensor.dtype).newbyteorder("<"))
        array = array.reshape(tuple(tensor.shape))
        # Levels stored where they give back exactly the server's tensor; else the tensor.
        levels = recover_levels(array, output) if work.store == LEVELS else None
        stored, array = (LEVELS, levels) if levels is not None else (TENSOR, array)
        spec = tensor_spec(output, stored)
        return tensor_outcome(index, array, reference=result.profile, geometry=geometry,
                              output=output, spec=spec)  # fmt: skip
    width, height = geometry["output_size"]
    extension = BY_MEDIA_TYPE[result.image.media_type].extension
    return Outcome(index, extension, result.image.data, result.profile, geometry,
                   f"{width}x{height} {extension}")  # fmt: skip


def list_server_profiles(
    target: str, token: str | None = None, tls: bool = False, timeout: float = 10
) -> dict[str, tuple[str, Profile]]:
    """The deployment's profiles: name -> (reference, the profile as it describes it)."""
    with open_channel(target, tls) as channel:
        listed = pre_grpc.PreprocessorStub(channel).ListProfiles(
            pre_pb.ListProfilesRequest(), timeout=timeout, metadata=bearer_metadata(token)
        )
    return {
        p.name: (p.ref, Profile.model_validate({**json.loads(p.spec_json), "name": p.name}))
        for p in listed.profiles
    }
