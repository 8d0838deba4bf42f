"""`imagescaler batch` from an S3 bucket to shards in the same bucket: images/s, GETs and PUTs
per image, and each process's peak memory, for --local and --engine dask (a local cluster of
2 worker processes). The S3 server is moto's, on 127.0.0.1, behind the tests' counting proxy.

    .venv/bin/python scripts/bench_s3_batch.py [IMAGES]   (default 2000)

Images are ImageNet-sized JPEGs (500x375, made from the shared photos, each different), the
profile imagenet-224 (levels stored: 150 KB a sample)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from tests.support.paths import SHARED_IMAGES  # noqa: E402
from tests.support.s3_server import CREDENTIALS, faulty_proxy, s3_server  # noqa: E402

PHOTOS = ["hotdog_1400x1316.jpg", "bird_1920x1080.jpg", "leaf_3264x2448.jpg"]


def imagenet_sized(count: int) -> list[bytes]:
    """`count` distinct 500x375 JPEGs: crops of the shared photos at shifting offsets."""
    sources = [Image.open(SHARED_IMAGES / name).convert("RGB") for name in PHOTOS]
    made = []
    for number in range(count):
        photo = sources[number % len(sources)]
        left, top = (number * 7) % (photo.width - 1000), (number * 5) % (photo.height - 750)
        crop = photo.crop((left, top, left + 1000, top + 750)).resize((500, 375))
        buffer = io.BytesIO()
        crop.save(buffer, "JPEG", quality=85)
        made.append(buffer.getvalue())
    return made


def tree(pid: int) -> list[int]:
    """The process and its descendants."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                queue += [int(child) for child in task.read_text().split()]
    return found


def peak_memory(pid: int, peaks: dict[int, tuple[str, int]], stop: threading.Event) -> None:
    """Each process's VmHWM (peak resident), by pid, until `stop`."""
    while not stop.is_set():
        for member in tree(pid):
            try:
                status = Path(f"/proc/{member}/status").read_text()
                command = Path(f"/proc/{member}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            line = next((s for s in status.splitlines() if s.startswith("VmHWM:")), None)
            if line:
                kib = int(line.split()[1])
                name = (
                    "batch" if member == pid else "dask worker" if b"spawn" in command else "other"
                )
                peaks[member] = (name, max(kib, peaks.get(member, ("", 0))[1]))
        stop.wait(0.2)


def run(
    endpoint: str, out: str, *engine: str, staging: Path
) -> tuple[float, str, dict[int, tuple[str, int]]]:
    command = [str(ROOT / ".venv/bin/imagescaler"), "batch", "s3://bench/in/", "--out", out,
               "--profile", "imagenet-224", "--s3-endpoint", endpoint, "--staging", str(staging),
               *engine]  # fmt: skip
    env = {**os.environ, **CREDENTIALS}
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    peaks: dict[int, tuple[str, int]] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=peak_memory, args=(process.pid, peaks, stop), daemon=True)
    watcher.start()
    output, _ = process.communicate()
    stop.set()
    watcher.join()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"batch failed ({process.returncode}):\n{output}")
    return seconds, output, peaks


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with tempfile.TemporaryDirectory() as scratch, s3_server(Path(scratch) / "moto.log") as s3:
        s3.bucket("bench")
        fs = s3.fs()
        for number, data in enumerate(imagenet_sized(count)):
            fs.pipe_file(f"bench/in/{number // 100:03d}/{number:05d}.jpg", data)
        print(f"{count} ImageNet-sized JPEGs in s3://bench/in/ (moto on 127.0.0.1)")
        engines = {
            "--local": ["--local"],
            "--engine dask, 2 workers": ["--engine", "dask", "--concurrency", "2"],
        }
        for label, engine in engines.items():
            with faulty_proxy(s3.port) as proxy:
                out = f"s3://bench/out-{engine[-1]}/"
                seconds, _output, peaks = run(
                    proxy.endpoint, out, *engine, staging=Path(scratch) / engine[-1]
                )
                requests = dict(proxy.requests)
            gets = sum(n for (method, _), n in requests.items() if method == "GET")
            puts = sum(n for (method, _), n in requests.items() if method in ("PUT", "POST"))
            memory = ", ".join(
                f"{name} {kib / 1024:.0f} MiB"
                for name, kib in sorted(peaks.values(), key=lambda p: -p[1])
                if name != "other"
            )
            print(f"\n{label}: {count / seconds:.1f} images/s ({seconds:.1f} s)")
            print(f"  GETs {gets} ({gets / count:.2f} per image), ", end="")
            print(f"PUTs and POSTs {puts} ({puts / count:.3f} per image)")
            print(f"  by kind: {sorted(requests.items())}")
            print(f"  peak memory: {memory}")


if __name__ == "__main__":
    main()
