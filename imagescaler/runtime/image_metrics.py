"""Prometheus metrics of the image work: what comes in, what is decided, where time goes."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from imagescaler.runtime.buckets import LATENCY_BUCKETS

BYTE_BUCKETS = (16e3, 64e3, 256e3, 512e3, 1e6, 2e6, 4e6, 8e6, 16e6, 32e6)
MEGAPIXEL_BUCKETS = (0.1, 0.5, 1, 2, 4, 8, 12, 16, 24, 32, 50)


class ImageMetrics:
    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        labels = {"service": service}
        self.input_bytes = Histogram(
            "imagescaler_input_bytes",
            "Size of the images received",
            ["service"],
            buckets=BYTE_BUCKETS,
            registry=registry,
        ).labels(**labels)
        self.input_megapixels = Histogram(
            "imagescaler_input_megapixels",
            "Pixels of the images received, in millions",
            ["service"],
            buckets=MEGAPIXEL_BUCKETS,
            registry=registry,
        ).labels(**labels)
        self.input_format = Counter(
            "imagescaler_input_format",
            "Images received, by format",
            ["service", "format"],
            registry=registry,
        )
        self.scaling = Counter(
            "imagescaler_scaling_decisions",
            "The margin rule's decision",
            ["service", "scaled"],
            registry=registry,
        )
        self.stage_seconds = Histogram(
            "imagescaler_stage_seconds",
            "Time spent per stage of an image request",
            ["service", "stage"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.output_bytes = Histogram(
            "imagescaler_output_bytes",
            "Size of the images sent back",
            ["service"],
            buckets=BYTE_BUCKETS,
            registry=registry,
        ).labels(**labels)
        self._service = service

    def observe_input(self, size: int, width: int, height: int, image_format: str) -> None:
        self.input_bytes.observe(size)
        self.input_megapixels.observe(width * height / 1e6)
        self.input_format.labels(self._service, image_format).inc()

    def observe_stages(self, seconds: dict[str, float]) -> None:
        for stage, value in seconds.items():
            self.stage_seconds.labels(self._service, stage).observe(value)
