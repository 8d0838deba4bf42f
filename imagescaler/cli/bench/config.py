"""What a benchmark run is asked to do, and the local system it measures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BenchConfig:
    quick: bool
    seconds: float
    memory_seconds: float
    concurrencies: tuple[int, ...]
    repeats: int
    thumbor: bool
    shared: Path
    json_path: Path


@dataclass
class LocalSystem:
    api_address: str
    gateway_url: str
    token: str
    pids: dict[str, int]
