"""The benchmark's measurements: in process, end to end, the stream, memory, thumbor."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from imagescaler.cli.bench import inprocess
from imagescaler.cli.bench.closed_loop import run_closed_loop
from imagescaler.cli.bench.config import BenchConfig, LocalSystem
from imagescaler.cli.bench.inputs import BenchImage
from imagescaler.cli.bench.memory import MemorySampler
from imagescaler.cli.bench.stream import cpu_per_image, pool_throughput, stream_throughput
from imagescaler.cli.bench.thumbor_fleet import ensure_thumbor, thumbor_fleet
from imagescaler.cli.load import targets
from imagescaler.cli.load.stats import percentile
from imagescaler.runtime.settings import available_cpus


def machine() -> str:
    """The cores this process may use and the processor's model, printed beside the figures."""
    model = "unknown processor"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]  # fmt: skip
        model = names[0] if names else model
    return f"{available_cpus()} cores, {model}"


def measure_inprocess(images: list[BenchImage], repeats: int) -> dict[str, list[dict[str, Any]]]:
    return {
        image.label: [
            {"name": t.name, "median_ms": round(t.median, 2), "best_ms": round(t.best, 2)}
            for t in inprocess.compare(image.data, repeats, image.is_jpeg)
        ]
        for image in images
    }


def measure_end_to_end(
    system: LocalSystem, image: BenchImage, config: BenchConfig
) -> dict[str, list[dict[str, Any]]]:
    data = image.data
    factories = {
        "gRPC API": targets.grpc_api(system.api_address, data),
        "REST gateway": targets.rest_gateway(system.gateway_url, system.token, data),
    }
    return {
        name: [run_closed_loop(factory, c, config.seconds).as_dict() for c in config.concurrencies]
        for name, factory in factories.items()
    }


def measure_api_at_one(
    system: LocalSystem, image: BenchImage, config: BenchConfig
) -> list[dict[str, Any]]:
    """`image` through the gRPC API at concurrency 1: one more row of the end-to-end table."""
    factory = targets.grpc_api(system.api_address, image.data)
    return [run_closed_loop(factory, 1, config.seconds).as_dict()]


def measure_stream(system: LocalSystem, image: BenchImage, config: BenchConfig) -> dict[str, Any]:
    """One PreprocessStream of the main photo through the default profile, and the in-process
    pool (threads = cores, as the image service has) doing the same work; with the CPU each
    spends per image, which bounds their ratio when all of it shares the same cores."""
    count = 6 if config.quick else 60
    pids = {name: pid for name, pid in system.pids.items() if name != "gateway"}
    stream: dict[str, Any]
    stream, stream_cpu = cpu_per_image(
        lambda: stream_throughput(system.api_address, image.data, count), pids, count + 1
    )  # + its one warm-up call
    pool, pool_cpu = cpu_per_image(
        lambda: pool_throughput(image.data, available_cpus(), count),
        {},
        count + available_cpus(),  # + a warm-up call per thread
    )
    stream["pool_images_per_second"] = pool
    stream["cpu_ms_per_image"] = stream_cpu
    stream["pool_cpu_ms_per_image"] = pool_cpu["client"]
    # With every process on the same cores, the stream makes at most cores / its CPU per image
    # images a second: over the pool's measured rate, the most its ratio can be.
    stream["cpu_bound"] = available_cpus() * 1000 / sum(stream_cpu.values()) / pool
    spent = ", ".join(f"{name} {ms:.1f}" for name, ms in stream_cpu.items())
    print(
        f"PreprocessStream ({image.label}, profile default, {count} images): "
        f"{stream['images_per_second']:.1f} images/s; in-process pool of {available_cpus()}: "
        f"{pool:.1f} images/s; errors {stream['errors'] or 0}\n"
        f"  CPU ms per image: stream {spent}; pool {pool_cpu['client']:.1f}; all on the "
        f"same {available_cpus()} cores, stream / pool is at most {stream['cpu_bound']:.2f}",
        end="\n\n",
        flush=True,
    )
    return stream


def measure_memory(system: LocalSystem, image: BenchImage, config: BenchConfig) -> dict[str, Any]:
    """A steady load through the REST gateway (so every service works): memory of each
    service over time, and p99 of the first and the second half of the run."""
    factory = targets.rest_gateway(system.gateway_url, system.token, image.data)
    samplers = {name: MemorySampler(pid) for name, pid in system.pids.items()}
    for sampler in samplers.values():
        sampler.__enter__()
    try:
        load = run_closed_loop(factory, 4, config.memory_seconds)
    finally:
        for sampler in samplers.values():
            sampler.__exit__(None, None, None)
    half = len(load.latencies_ms) // 2
    return {
        "services": {name: sampler.trace.as_dict() for name, sampler in samplers.items()},
        "seconds": round(load.seconds, 1),
        "requests": len(load.latencies_ms),
        "p99_ms_first_half": round(percentile(load.latencies_ms[:half], 0.99), 1),
        "p99_ms_second_half": round(percentile(load.latencies_ms[half:], 0.99), 1),
        "errors": load.errors,
        # kept for the target row: the image service is the one that holds pixels
        "peak_rss_mib": samplers["image service"].trace.as_dict()["peak_rss_mib"],
    }


def measure_thumbor(image: BenchImage, config: BenchConfig) -> dict[str, list[dict[str, Any]]]:
    log = Path(".bench") / "thumbor-install.log"
    log.parent.mkdir(exist_ok=True)
    command = ensure_thumbor(log)
    if command is None:
        print(f"thumbor could not be installed; see {log}")
        return {}
    with (
        tempfile.TemporaryDirectory() as workdir,
        thumbor_fleet(command, image.path.parent, available_cpus(), Path(workdir)) as ports,
    ):
        factory = targets.thumbor(ports, image.path)
        return {
            "thumbor": [
                run_closed_loop(factory, c, config.seconds).as_dict() for c in config.concurrencies
            ]
        }
