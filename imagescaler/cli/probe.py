"""`imagescaler probe`: exit 0 when a service is ready; for Docker's HEALTHCHECK and scripts."""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

# In a container one service runs; with no target the probe asks each one's default address.
LOCAL_DEFAULTS = (
    ("http", "http://127.0.0.1:8000/readyz"),
    ("grpc", "127.0.0.1:50051"),
    ("grpc", "127.0.0.1:50052"),
)


def run(args: argparse.Namespace) -> int:
    if args.grpc:
        ready = grpc_ready(args.grpc, args.timeout)
    elif args.http:
        ready = http_ready(args.http, args.timeout)
    else:
        ready = any(
            grpc_ready(target, args.timeout) if kind == "grpc" else http_ready(target, args.timeout)
            for kind, target in LOCAL_DEFAULTS
        )
    print("ready" if ready else "not ready", file=sys.stderr)
    return 0 if ready else 1


def grpc_ready(address: str, timeout: float) -> bool:
    with grpc.insecure_channel(address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=timeout
            )
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def http_ready(url: str, timeout: float) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:  # noqa: S310 - a probe URL
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError):
        return False
