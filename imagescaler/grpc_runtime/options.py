"""gRPC channel and server options: message limits, balancing, retries, keepalive, connection age.

Both ends of every hop use these, so the limits always match (docs/load-balancing.md)."""

from __future__ import annotations

import json
from typing import Any

ChannelOptions = list[tuple[str, Any]]

# Per request, not per connection: round_robin over every address the target resolves to
# (a headless Service's pods, or "ipv4:a:1,b:2"), and a retry on UNAVAILABLE, which is what a
# replica that dies or drains answers. Other codes are the caller's or the image's fault.
SERVICE_CONFIG = {
    "loadBalancingConfig": [{"round_robin": {}}],
    # Client-side health checking: round_robin watches every backend's grpc.health.v1 and
    # skips one that reports NOT_SERVING, such as a replica draining after SIGTERM.
    "healthCheckConfig": {"serviceName": ""},
    "methodConfig": [
        {
            "name": [{}],
            "retryPolicy": {
                "maxAttempts": 4,
                "initialBackoff": "0.05s",
                "maxBackoff": "0.5s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }
    ],
}
KEEPALIVE_MS = 30_000
# What our own clients (the command line, the load client, tests) send and accept: above any
# service's --max-image-bytes, so the service, not the client, says what is too large.
CLIENT_MESSAGE_LIMIT = 64 * 1024 * 1024


def message_size_options(max_message_bytes: int) -> ChannelOptions:
    """Raise gRPC's 4 MiB default on both directions; used on both ends of every hop."""
    return [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
    ]


def client_options(max_message_bytes: int) -> ChannelOptions:
    return [
        *message_size_options(max_message_bytes),
        ("grpc.service_config", json.dumps(SERVICE_CONFIG)),
        ("grpc.enable_retries", 1),
        # A request is retried only if it fits this buffer; the default 256 KiB would turn
        # retries off for every photo.
        ("grpc.per_rpc_retry_buffer_size", 2 * max_message_bytes),
        ("grpc.keepalive_time_ms", KEEPALIVE_MS),
        ("grpc.keepalive_timeout_ms", 10_000),
        # Re-resolution (on GOAWAY at max connection age, or a failure) at most this often;
        # the default 30 s would let a new replica wait that long.
        ("grpc.dns_min_time_between_resolutions_ms", 5_000),
    ]


def server_options(
    max_message_bytes: int,
    max_connection_age: float,
    max_calls: int,
    max_connection_age_grace: float = 60.0,
) -> ChannelOptions:
    return [
        *message_size_options(max_message_bytes),
        # HTTP/2 streams one connection may have open: twice the calls the replica admits, so
        # that calls over the limit are sent and refused at once (never queued on the client
        # until their deadline, health checks behind them), while one client still cannot
        # open thousands of streams.
        ("grpc.max_concurrent_streams", 2 * max_calls),
        # Clients reconnect, and so re-resolve and find new replicas, at least this often;
        # the grace lets a request in progress finish on the old connection; a longer call
        # (a bulk run's stream) is then ended, and its client opens it again.
        ("grpc.max_connection_age_ms", int(max_connection_age * 1000)),
        ("grpc.max_connection_age_grace_ms", int(max_connection_age_grace * 1000)),
        # Accept the clients' keepalive pings instead of answering them with GOAWAY.
        ("grpc.http2.min_ping_interval_without_data_ms", KEEPALIVE_MS // 2),
        ("grpc.keepalive_permit_without_calls", 1),
    ]
