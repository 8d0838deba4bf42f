"""`imagescaler batch` measured: --local and --server against the in-process pool doing the
same work, on a set made from the shared photos (crops re-encoded at mixed sizes), for an
image profile (`default`) and a tensor profile stored as levels (`yolo-640`)."""

from __future__ import annotations

import math
import random
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PIL import Image

from imagescaler.cli.bench.inputs import CACHE
from imagescaler.cli.bench.memory import MemorySampler
from imagescaler.imaging.preprocess import preprocess
from imagescaler.imaging.profiles_file import profile_catalogue
from imagescaler.runtime.settings import available_cpus

PROFILES = ("yolo-640", "default")
PHOTOS = ("bird_1920x1080.jpg", "hotdog_1400x1316.jpg", "leaf_3264x2448.jpg", "night_4000x6000.jpg")


def make_set(shared: Path, count: int) -> Path:
    """`count` JPEGs cropped from the shared photos, 400-1600 px on the long side, made once."""
    folder = CACHE / f"batch-{count}"
    if len(list(folder.glob("*.jpg"))) == count:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    chooser = random.Random(4711)  # noqa: S311 - a reproducible test set, not a secret
    sources = [Image.open(shared / name).convert("RGB") for name in PHOTOS]
    for number in range(count):
        photo = chooser.choice(sources)
        width, height = photo.size
        side = chooser.randint(min(width, height) // 3, min(width, height))
        left, top = chooser.randint(0, width - side), chooser.randint(0, height - side // 2)
        crop = photo.crop((left, top, left + side, top + side * 3 // 4))
        long_side = chooser.randint(400, 1600)
        crop = crop.resize((long_side, long_side * 3 // 4), Image.Resampling.BILINEAR)
        crop.save(folder / f"{number:05d}.jpg", "JPEG", quality=chooser.randint(75, 95))
    return folder


def pool_rate(folder: Path, name: str) -> float:
    """Images per second of threads (one per core) running preprocess() in this process."""
    profile = profile_catalogue()[name]
    paths = sorted(folder.glob("*.jpg"))
    started = time.perf_counter()
    with ThreadPoolExecutor(available_cpus()) as pool:
        list(pool.map(lambda p: preprocess(p.read_bytes(), profile), paths))
    return len(paths) / (time.perf_counter() - started)


def batch_run(folder: Path, where: list[str], name: str) -> dict[str, Any]:
    """The real command, timed, with its resident memory sampled over the run."""
    count = len(list(folder.glob("*.jpg")))
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "imagescaler", "batch", str(folder), "--profile",
                   name, "--out", out, *where]  # fmt: skip
        started = time.perf_counter()
        with (
            subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process,
            MemorySampler(process.pid, interval=0.2) as trace,
        ):
            output, _ = process.communicate(timeout=1800)
        seconds = time.perf_counter() - started
        shard_bytes = sum(p.stat().st_size for p in Path(out).glob("shard-*.tar"))
    run_seconds = re.search(r"^\s*seconds\s+([\d.]+)", output, re.MULTILINE)
    return {
        "bytes_per_sample": shard_bytes / count,
        "images": count,
        # Wall time from the command's start, and the run's own (its summary: after the
        # interpreter's start-up and the source listing, as the in-process pool is timed).
        "images_per_second": count / seconds,
        "run_images_per_second": count / float(run_seconds[1]) if run_seconds else math.nan,
        "exit_status": process.returncode,
        "memory": trace.as_dict(),
        "summary": output.strip(),
    }


def measure_batch(shared: Path, api_address: str, count: int) -> list[dict[str, Any]]:
    folder = make_set(shared, count)
    return [
        {
            "profile": name,
            "pool_images_per_second": pool_rate(folder, name),
            "local": batch_run(folder, ["--local"], name),
            "server": batch_run(folder, ["--server", api_address, "--concurrency", "2"], name),
        }
        for name in PROFILES
    ]
