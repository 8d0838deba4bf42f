"""`imagescaler probe`: exit 0 when a service is ready; for Docker's HEALTHCHECK and scripts."""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request

from imagescaler.grpc_runtime.client import serving_at
from imagescaler.runtime.settings import API_PORT, GATEWAY_PORT, IMAGE_SERVICE_PORT, loopback

# In a container one service runs; with no target the probe asks each one's default address.
LOCAL_DEFAULTS = (
    ("http", f"http://{loopback(GATEWAY_PORT)}/readyz"),
    ("grpc", loopback(API_PORT)),
    ("grpc", loopback(IMAGE_SERVICE_PORT)),
)


def run(args: argparse.Namespace) -> int:
    if args.grpc:
        ready = serving_at(args.grpc, args.timeout)
    elif args.http:
        ready = http_ready(args.http, args.timeout)
    else:
        ready = any(
            serving_at(target, args.timeout) if kind == "grpc" else http_ready(target, args.timeout)
            for kind, target in LOCAL_DEFAULTS
        )
    print("ready" if ready else "not ready", file=sys.stderr)
    return 0 if ready else 1


def http_ready(url: str, timeout: float) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:  # noqa: S310 - a probe URL
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError):
        return False
