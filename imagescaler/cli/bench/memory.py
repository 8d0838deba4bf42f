"""Resident memory of a process over time, from /proc (Linux)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

MiB = 1024 * 1024


def _status_kib(pid: int, key: str) -> int:
    """A /proc/PID/status figure in KiB; 0 once the process has gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    for line in lines:
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


@dataclass
class MemoryTrace:
    """RSS samples in MiB, and the kernel's own high-water mark."""

    samples: list[tuple[float, float]] = field(default_factory=list)
    peak_mib: float = 0.0

    def window_mean(self, start: float, end: float) -> float:
        """Mean RSS over a fraction [start, end) of the run."""
        count = len(self.samples)
        chosen = self.samples[int(start * count) : max(int(start * count) + 1, int(end * count))]
        return sum(rss for _, rss in chosen) / len(chosen) if chosen else float("nan")

    def as_dict(self) -> dict[str, object]:
        tenths = [round(self.window_mean(k / 10, (k + 1) / 10), 1) for k in range(10)]
        return {
            "peak_rss_mib": round(self.peak_mib, 1),
            "first_tenth_mean_mib": tenths[0],
            "last_tenth_mean_mib": tenths[-1],
            "mean_rss_mib_by_tenth": tenths,
        }


class MemorySampler:
    """Samples a process's RSS every `interval` seconds in a background thread."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        self._pid = pid
        self._interval = interval
        self._stop = threading.Event()
        self.trace = MemoryTrace()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemoryTrace:
        self._started = time.monotonic()
        self._thread.start()
        return self.trace

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        # Read again at the end, unless the process has gone (then the last sample's stands).
        self.trace.peak_mib = max(self.trace.peak_mib, _status_kib(self._pid, "VmHWM") / 1024)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            rss = _status_kib(self._pid, "VmRSS") / 1024
            if rss:
                self.trace.samples.append((time.monotonic() - self._started, rss))
                self.trace.peak_mib = max(
                    self.trace.peak_mib, _status_kib(self._pid, "VmHWM") / 1024
                )
