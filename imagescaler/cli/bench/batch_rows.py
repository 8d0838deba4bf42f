"""`imagescaler batch` measured: --local and --server against the in-process pool doing the
same work, on a set made from the shared photos (crops re-encoded at mixed sizes)."""

from __future__ import annotations

import random
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
from imagescaler.imaging.profiles import BUILTIN_PROFILES, default_profile
from imagescaler.runtime.settings import available_cpus

PROFILE = "yolo-640"
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


def pool_rate(folder: Path, name: str = PROFILE) -> float:
    """Images per second of threads (one per core) running preprocess() in this process."""
    profile = {"default": default_profile(), **BUILTIN_PROFILES}[name]
    paths = sorted(folder.glob("*.jpg"))
    started = time.perf_counter()
    with ThreadPoolExecutor(available_cpus()) as pool:
        list(pool.map(lambda p: preprocess(p.read_bytes(), profile), paths))
    return len(paths) / (time.perf_counter() - started)


def batch_run(folder: Path, where: list[str], name: str = PROFILE) -> dict[str, Any]:
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
    return {
        "images": count,
        "images_per_second": count / seconds,
        "exit_status": process.returncode,
        "memory": trace.as_dict(),
        "summary": output.strip().splitlines()[-1] if output.strip() else "",
    }


def measure_batch(
    shared: Path, api_address: str, count: int, name: str = PROFILE
) -> dict[str, Any]:
    folder = make_set(shared, count)
    pool = pool_rate(folder, name)
    local = batch_run(folder, ["--local"], name)
    server = batch_run(folder, ["--server", api_address, "--concurrency", "2"], name)
    return {"profile": name, "pool_images_per_second": pool, "local": local, "server": server}
