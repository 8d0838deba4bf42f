"""`imagescaler client`: send a file or URL to the ImageScaler API and write the result."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import grpc

from grpc_stubs import imagescaler_pb2 as api_pb
from grpc_stubs import imagescaler_pb2_grpc as api_grpc
from imagescaler.grpc_options import message_size_options
from imagescaler.settings_base import MiB

CLIENT_MESSAGE_LIMIT = 64 * MiB


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", type=Path, help="image file to send")
    parser.add_argument("--url", help="http(s) URL for the API to download instead of a file")
    parser.add_argument(
        "-o", "--output", type=Path, default=Path("out.jpg"), help="where to write the result"
    )
    parser.add_argument("--server", default="127.0.0.1:50051", help="API address, host:port")
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for the answer"
    )


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
