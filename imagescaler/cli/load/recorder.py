"""What happened to each request, and the report made of it."""

from __future__ import annotations

import math
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from imagescaler.cli.load.stats import percentile


@dataclass(frozen=True)
class Outcome:
    started: float  # seconds since the run began
    milliseconds: float
    status: str  # "OK", a gRPC status name or "HTTP 503"


@dataclass
class Recorder:
    outcomes: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)

    def snapshot(self) -> list[Outcome]:
        with self.lock:
            return list(self.outcomes)


def summarise(outcomes: list[Outcome], duration: float) -> dict[str, Any]:
    ok = [o.milliseconds for o in outcomes if o.status == "OK"]
    seconds = max(1, math.ceil(duration))
    per_second = [0] * seconds
    errors_per_second = [0] * seconds
    p50_per_second: list[float | None] = []
    p99_per_second: list[float | None] = []
    for outcome in outcomes:
        slot = min(seconds - 1, int(outcome.started))
        per_second[slot] += 1
        if outcome.status != "OK":
            errors_per_second[slot] += 1
    for slot in range(seconds):
        window = [o.milliseconds for o in outcomes if o.status == "OK" and int(o.started) == slot]
        p50_per_second.append(round(percentile(window, 0.5), 1) if window else None)
        p99_per_second.append(round(percentile(window, 0.99), 1) if window else None)
    return {
        "requests": len(outcomes),
        "ok": len(ok),
        "errors": len(outcomes) - len(ok),
        "errors_by_status": dict(Counter(o.status for o in outcomes if o.status != "OK")),
        "duration_s": round(duration, 2),
        "mean_rate_per_s": round(len(outcomes) / duration, 2) if duration else 0.0,
        "latency_ms": {
            name: (round(percentile(ok, q), 1) if ok else None)
            for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))
        },
        "per_second": {
            "requests": per_second,
            "errors": errors_per_second,
            "p50_ms": p50_per_second,
            "p99_ms": p99_per_second,
        },
    }


def report_text(summary: dict[str, Any]) -> str:
    latency = summary["latency_ms"]
    lines = [
        f"requests {summary['requests']}  ok {summary['ok']}  errors {summary['errors']}  "
        f"in {summary['duration_s']} s  ({summary['mean_rate_per_s']} requests/s)",
        "latency ms  " + "  ".join(f"{name} {value}" for name, value in latency.items()),
    ]
    if summary["errors_by_status"]:
        lines.append(
            "errors by status  "
            + ", ".join(
                f"{status}: {count}"
                for status, count in sorted(summary["errors_by_status"].items())
            )
        )
    lines.append("requests per second  " + " ".join(map(str, summary["per_second"]["requests"])))
    return "\n".join(lines)
