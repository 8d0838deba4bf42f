"""The benchmark's closed-loop runs and their results, through the load client's runner."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from imagescaler.cli.load.profile import Profile
from imagescaler.cli.load.recorder import Recorder
from imagescaler.cli.load.runner import run_concurrency
from imagescaler.cli.load.stats import percentile
from imagescaler.cli.load.targets import RequestFactory


@dataclass
class LoadResult:
    concurrency: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def requests_per_second(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    @property
    def p50(self) -> float:
        return percentile(self.latencies_ms, 0.50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies_ms, 0.99)

    def as_dict(self) -> dict[str, object]:
        return {
            "concurrency": self.concurrency,
            "seconds": round(self.seconds, 3),
            "requests": len(self.latencies_ms),
            "requests_per_second": round(self.requests_per_second, 2),
            "p50_ms": round(self.p50, 2),
            "p99_ms": round(self.p99, 2),
            "errors": self.errors,
        }


def run_closed_loop(factory: RequestFactory, concurrency: int, seconds: float) -> LoadResult:
    """`concurrency` workers, each with its own client, send requests back to back for
    `seconds`: the load client's runner at a constant level."""
    profile = Profile(warmup=0, ramp_up=0, hold=seconds, ramp_down=0, peak=concurrency)
    recorder = Recorder()
    began = time.monotonic()
    run_concurrency(factory, profile, recorder, began)
    outcomes = recorder.snapshot()
    return LoadResult(
        concurrency,
        time.monotonic() - began,
        [o.milliseconds for o in outcomes if o.status == "OK"],
        dict(Counter(o.status for o in outcomes if o.status != "OK")),
    )
