"""`imagescaler client`: send a file or URL to the API and write the result: ScaleImage (the
original scaling), or a profile through Preprocessor v1 (the image, or the tensor as .npy, and
the geometry printed); `--list-profiles` names what the API serves."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import grpc

from grpc_stubs import imagescaler_pb2 as api_pb
from grpc_stubs import imagescaler_pb2_grpc as api_grpc
from grpc_stubs import preprocess_v1_pb2 as pre_pb
from grpc_stubs import preprocess_v1_pb2_grpc as pre_grpc
from imagescaler.cli.remote_api import TokenFileError, open_channel, read_token
from imagescaler.grpc_runtime.auth import bearer_metadata
from imagescaler.grpc_runtime.options import CLIENT_MESSAGE_LIMIT, message_size_options
from imagescaler.imaging.encoding import BY_MEDIA_TYPE
from imagescaler.imaging.tensors import npy_header
from imagescaler.messages import geometry_dict

Metadata = tuple[tuple[str, str], ...]


def build_request(file: Path | None, url: str | None) -> api_pb.ScaleImageRequest:
    if (file is None) == (url is None):
        raise SystemExit("give exactly one of FILE or --url")
    if file is not None:
        return api_pb.ScaleImageRequest(image=api_pb.Image(content=file.read_bytes()))
    return api_pb.ScaleImageRequest(image=api_pb.Image(source=api_pb.ImageSource(http_uri=url)))


def run(args: argparse.Namespace) -> int:
    try:
        metadata = bearer_metadata(read_token(args.token_file))
    except TokenFileError as error:
        print(error, file=sys.stderr)
        return 2
    with open_channel(args.server, args.tls, message_size_options(CLIENT_MESSAGE_LIMIT)) as channel:
        try:
            if args.list_profiles:
                return list_profiles(channel, args.timeout, metadata)
            request = build_request(args.file, args.url)
            if args.profile is None:
                reply = api_grpc.ImageScalerStub(channel).ScaleImage(
                    request, timeout=args.timeout, metadata=metadata
                )
                return write(output_path(args.output, "jpg"), reply.content)
            return preprocess(channel, request.image, args, metadata)
        except OSError as error:
            print(f"cannot read {args.file}: {error.strerror}", file=sys.stderr)
            return 2
        except grpc.RpcError as error:
            print(f"error: {error.code().name}: {error.details()}", file=sys.stderr)
            return 1


def list_profiles(channel: grpc.Channel, timeout: float, metadata: Metadata) -> int:
    listed = pre_grpc.PreprocessorStub(channel).ListProfiles(
        pre_pb.ListProfilesRequest(), timeout=timeout, metadata=metadata
    )
    for profile in listed.profiles:
        print(f"{profile.name:<16} {profile.ref:<32} {profile.description}")
    return 0


def preprocess(
    channel: grpc.Channel, image: api_pb.Image, args: argparse.Namespace, metadata: Metadata
) -> int:
    source = (
        pre_pb.ImageInput(content=image.content)
        if image.content
        else pre_pb.ImageInput(url=image.source.http_uri)
    )  # one or the other: they are a oneof
    request = pre_pb.PreprocessRequest(image=source, profile=args.profile)
    reply = pre_grpc.PreprocessorStub(channel).Preprocess(
        request, timeout=args.timeout, metadata=metadata
    )
    if reply.WhichOneof("output") == "tensor":
        tensor = reply.tensor
        data = npy_header(tuple(tensor.shape), tensor.dtype) + tensor.data
        output = output_path(args.output, "npy")
    else:
        data = reply.image.data
        output = output_path(args.output, BY_MEDIA_TYPE[reply.image.media_type].extension)
    print(f"profile {reply.profile}")
    print(f"geometry {json.dumps(geometry_dict(reply.geometry))}")
    return write(output, data)


def output_path(given: Path | None, extension: str) -> Path:
    """-o as given, else out.EXTENSION for what came back."""
    return given if given is not None else Path(f"out.{extension}")


def write(path: Path, data: bytes) -> int:
    """Whole or not at all: written beside it, then renamed, so Ctrl-C leaves no half file."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    print(f"wrote {path} ({len(data)} bytes)")
    return 0
