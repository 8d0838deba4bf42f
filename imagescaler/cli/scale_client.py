"""`imagescaler client`: send a file or URL to the ImageScaler API and write the result."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import grpc

from grpc_stubs import imagescaler_pb2 as api_pb
from grpc_stubs import imagescaler_pb2_grpc as api_grpc
from imagescaler.runtime.grpc_options import CLIENT_MESSAGE_LIMIT, message_size_options


def build_request(file: Path | None, url: str | None) -> api_pb.ScaleImageRequest:
    if (file is None) == (url is None):
        raise SystemExit("give exactly one of FILE or --url")
    if file is not None:
        return api_pb.ScaleImageRequest(image=api_pb.Image(content=file.read_bytes()))
    return api_pb.ScaleImageRequest(image=api_pb.Image(source=api_pb.ImageSource(http_uri=url)))


def run(args: argparse.Namespace) -> int:
    try:
        request = build_request(args.file, args.url)
    except OSError as error:
        print(f"cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 2
    with grpc.insecure_channel(
        args.server, options=message_size_options(CLIENT_MESSAGE_LIMIT)
    ) as channel:
        stub = api_grpc.ImageScalerStub(channel)
        try:
            reply = stub.ScaleImage(request, timeout=args.timeout)
        except grpc.RpcError as error:
            print(f"error: {error.code().name}: {error.details()}", file=sys.stderr)
            return 1
    args.output.write_bytes(reply.content)
    print(f"wrote {args.output} ({len(reply.content)} bytes)")
    return 0
