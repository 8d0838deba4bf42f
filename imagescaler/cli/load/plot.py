"""The run as a PNG: request rate (and errors) and latency over time."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot(summary: dict[str, Any], levels: list[float], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per_second = summary["per_second"]
    seconds = list(range(len(per_second["requests"])))
    figure, (rate, latency) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    rate.plot(seconds, per_second["requests"], label="requests/s")
    rate.plot(seconds, per_second["errors"], label="errors/s", color="tab:red")
    level_axis = rate.twinx()
    level_axis.plot(
        seconds, levels[: len(seconds)], label="target level", color="tab:gray", linestyle="--"
    )
    level_axis.set_ylabel("target level")
    rate.set_ylabel("per second")
    rate.legend(loc="upper left")
    latency.plot(
        seconds, [v if v is not None else float("nan") for v in per_second["p50_ms"]], label="p50"
    )
    latency.plot(
        seconds, [v if v is not None else float("nan") for v in per_second["p99_ms"]], label="p99"
    )
    latency.set_ylabel("latency ms")
    latency.set_xlabel("seconds")
    latency.legend(loc="upper left")
    figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
