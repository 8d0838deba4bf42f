"""A load profile: warm-up, ramp up to a peak, hold, ramp down; the level at any moment."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """Levels are a concurrency (workers) or a rate (requests per second)."""

    warmup: float
    ramp_up: float
    hold: float
    ramp_down: float
    peak: float
    start: float = 1.0

    @property
    def duration(self) -> float:
        return self.warmup + self.ramp_up + self.hold + self.ramp_down

    def level(self, elapsed: float) -> float:
        if elapsed < self.warmup:
            return self.start
        elapsed -= self.warmup
        if elapsed < self.ramp_up:
            return self.start + (self.peak - self.start) * elapsed / self.ramp_up
        elapsed -= self.ramp_up
        if elapsed < self.hold:
            return self.peak
        elapsed -= self.hold
        if elapsed < self.ramp_down:
            return self.peak - (self.peak - self.start) * elapsed / self.ramp_down
        return 0.0

    def phase(self, elapsed: float) -> str:
        bounds = [
            ("warm-up", self.warmup),
            ("ramp-up", self.ramp_up),
            ("hold", self.hold),
            ("ramp-down", self.ramp_down),
        ]
        for name, length in bounds:
            if elapsed < length:
                return name
            elapsed -= length
        return "done"
