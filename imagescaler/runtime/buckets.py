"""Histogram buckets the services' metrics share, so that their latencies line up."""

from __future__ import annotations

# From a few milliseconds (a refused request) to tens of seconds (a slow download).
LATENCY_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
