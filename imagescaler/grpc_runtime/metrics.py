"""Prometheus metrics of gRPC calls, on the server side and the client side."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from imagescaler.runtime.buckets import LATENCY_BUCKETS


class GrpcMetrics:
    """grpc_{side}_started_total, _handled_total, _handling_seconds and _in_flight."""

    def __init__(self, registry: CollectorRegistry, side: str) -> None:
        labels = ["grpc_service", "grpc_method"]
        self.started = Counter(
            f"grpc_{side}_started", f"RPCs started on the {side}", labels, registry=registry
        )
        self.handled = Counter(
            f"grpc_{side}_handled",
            f"RPCs completed on the {side}, by status code",
            [*labels, "grpc_code"],
            registry=registry,
        )
        self.seconds = Histogram(
            f"grpc_{side}_handling_seconds",
            f"Time to complete an RPC on the {side}",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            f"grpc_{side}_in_flight", f"RPCs in progress on the {side}", labels, registry=registry
        )
        self.rejected = Counter(
            f"grpc_{side}_rejected",
            "Requests refused with a typed error, by reason",
            [*labels, "reason"],
            registry=registry,
        )
        # Server side only: one process has one server and may have many clients.
        self.memory_trims = (
            Counter(
                "imagescaler_memory_trims",
                "Times the service handed freed heap memory back (malloc_trim) after going idle",
                registry=registry,
            )
            if side == "server"
            else None
        )

    def begin(self, service: str, method: str) -> None:
        self.started.labels(service, method).inc()
        self.in_flight.labels(service, method).inc()

    def end(self, service: str, method: str, code: str, seconds: float) -> None:
        self.in_flight.labels(service, method).dec()
        self.handled.labels(service, method, code).inc()
        self.seconds.labels(service, method).observe(seconds)


def split_method(full_method: str) -> tuple[str, str]:
    """'/pkg.Service/Method' -> ('pkg.Service', 'Method')."""
    service, _, method = full_method.lstrip("/").partition("/")
    return service, method
