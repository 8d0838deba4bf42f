"""A closed-loop load runner: N workers send requests back to back for a while."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from imagescaler.cli.bench.stats import percentile

Request = Callable[[], None]  # raises on failure


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


def run_closed_loop(
    make_request: Callable[[int], Request], concurrency: int, seconds: float, warmup: int = 1
) -> LoadResult:
    """Each worker gets its own request callable (its own connection) from make_request(i)."""
    requests = [make_request(worker) for worker in range(concurrency)]
    for request in requests:
        for _ in range(warmup):
            request()
    result = LoadResult(concurrency, seconds)
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(request: Request) -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                request()
            except Exception as error:  # counted and reported, never hidden
                with lock:
                    name = type(error).__name__
                    result.errors[name] = result.errors.get(name, 0) + 1
                continue
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                result.latencies_ms.append(elapsed)

    threads = [threading.Thread(target=worker, args=(r,)) for r in requests]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.monotonic() - started
    return result
