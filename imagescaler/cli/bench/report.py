"""The benchmark's table and its targets, printed for people and written as JSON."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    name: str
    measured: float
    limit: float
    unit: str = "x"
    at_least: bool = False  # the measure must reach the limit, not stay under it

    @property
    def met(self) -> bool:
        if math.isnan(self.measured):
            return False
        return self.measured >= self.limit if self.at_least else self.measured <= self.limit

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.name,
            "measured": round(self.measured, 3),
            "limit": self.limit,
            "unit": self.unit,
            "met": self.met,
        }


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    line = "  ".join(f"{{:<{width}}}" for width in widths)
    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line.format(*headers), rule, *(line.format(*map(str, r)) for r in rows)])


def fmt(value: float, digits: int = 1) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def inprocess_table(results: dict[str, list[dict[str, Any]]]) -> str:
    rows = []
    for image, timings in results.items():
        reference = next(
            (t["median_ms"] for t in timings if t["name"] == "libjpeg-turbo floor"), None
        )
        ours = next(t["median_ms"] for t in timings if t["name"] == "ours")
        for timing in timings:
            vs_floor = fmt(timing["median_ms"] / reference, 2) + "x" if reference else "-"
            rows.append(
                [
                    image,
                    timing["name"],
                    fmt(timing["median_ms"]),
                    fmt(timing["best_ms"]),
                    vs_floor,
                    fmt(timing["median_ms"] / ours, 2) + "x",
                ]
            )
    return table(["image", "method", "median ms", "best ms", "vs floor", "vs ours"], rows)


def load_table(results: dict[str, list[dict[str, Any]]]) -> str:
    rows = [
        [
            target,
            str(r["concurrency"]),
            fmt(r["requests_per_second"], 2),
            fmt(r["p50_ms"]),
            fmt(r["p99_ms"]),
            str(r["requests"]),
            str(sum(r["errors"].values())),
        ]
        for target, runs in results.items()
        for r in runs
    ]
    return table(["end to end", "conc.", "req/s", "p50 ms", "p99 ms", "requests", "errors"], rows)


QUICK_NOTE = (
    "--quick: a seconds-long smoke run on small inputs; the targets are not judged "
    "(run `imagescaler bench` for figures that mean something)"
)


def targets_table(targets: list[Target], *, quick: bool = False) -> str:
    """The targets and whether each was met; in quick mode they are shown, not judged."""
    rows = [
        [
            t.name,
            f"{fmt(t.measured, 2)} {t.unit}",
            f"{'>=' if t.at_least else '<='} {t.limit:g} {t.unit}",
            "not judged" if quick else ("met" if t.met else "NOT MET"),
        ]
        for t in targets
    ]
    shown = table(["target", "measured", "wanted", "result"], rows)
    return f"{shown}\n{QUICK_NOTE}" if quick else shown


def memory_table(memory: dict[str, Any], label: str) -> str:
    rows = [
        [
            name,
            fmt(trace["peak_rss_mib"]),
            fmt(trace["first_tenth_mean_mib"]),
            fmt(trace["last_tenth_mean_mib"]),
        ]
        for name, trace in memory["services"].items()
    ]
    heading = (
        f"soak: {label} through the REST gateway, {memory['seconds']} s, "
        f"{memory['requests']} requests, errors {memory['errors'] or 0}; p99 "
        f"{memory['p99_ms_first_half']} ms (first half), "
        f"{memory['p99_ms_second_half']} ms (second half)"
    )
    return (
        heading + "\n" + table(["service", "peak MiB", "first tenth MiB", "last tenth MiB"], rows)
    )


def batch_text(batches: list[dict[str, Any]]) -> str:
    """The batch rows per profile: images per second, bytes per sample, and the batch
    process's memory over the run."""
    rows = []
    for batch in batches:
        pool = fmt(batch["pool_images_per_second"])
        rows.append([batch["profile"], "in-process pool", pool, pool] + ["-"] * 4)
        for where in ("local", "server"):
            run, memory = batch[where], batch[where]["memory"]
            rows.append([
                batch["profile"],
                f"batch --{where}",
                fmt(run["images_per_second"]),
                fmt(run["run_images_per_second"]),
                fmt(run["bytes_per_sample"] / 2**20, 2),
                str(run["exit_status"]),
                fmt(memory["first_tenth_mean_mib"]),
                fmt(memory["last_tenth_mean_mib"]),
            ])  # fmt: skip
    heading = f"batch: {batches[0]['local']['images']} images"
    headers = ["profile", "run", "images/s wall", "images/s run", "MiB/sample", "exit",
               "RSS first tenth MiB", "RSS last tenth MiB"]  # fmt: skip
    return heading + "\n" + table(headers, rows)
