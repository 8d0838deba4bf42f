"""Time and memory of taking an upload apart from its request (messages.payload_apart), as
the API and the image service do with every request.

    .venv/bin/python scripts/bench_request_parse.py

Prints the time per 4 MB request (the phone photo) and the peak growth, in a fresh process,
of parsing a 21 MB request read from a file (so that building it sets no high-water mark)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import timeit
from pathlib import Path

from grpc_stubs import preprocess_v1_pb2 as pre_pb
from imagescaler.messages import payload_apart

PHOTO = Path(__file__).resolve().parents[2] / "shared" / "images" / "phone_4032x3024_exif6.jpg"
PARSE = payload_apart(pre_pb.StreamRequest, "image.content")


def request(content: bytes) -> bytes:
    image = pre_pb.ImageInput(content=content)
    return pre_pb.StreamRequest(id="a", profile="default", image=image).SerializeToString()


def high_water_kib() -> int:
    """This process's peak resident memory (VmHWM: unlike getrusage's ru_maxrss, not carried
    over from the parent that started it)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))


def peak_growth_mib(path: str) -> float:
    with open(path, "rb") as file:  # one allocation of the file's size, no high-water mark
        raw = file.read()
    before = high_water_kib()
    PARSE(raw).take()
    return (high_water_kib() - before) / 1024


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--peak":
        print(peak_growth_mib(sys.argv[2]))
        return
    raw = request(PHOTO.read_bytes())
    runs = 200
    seconds = timeit.timeit(lambda: PARSE(raw).take(), number=runs) / runs
    print(f"{len(raw) / 1e6:.1f} MB request taken apart: {seconds * 1000:.2f} ms")
    with tempfile.NamedTemporaryFile(suffix=".bin") as file:
        file.write(request(bytes(21_000_000)))
        file.flush()
        probe = [sys.executable, __file__, "--peak", file.name]
        growth = float(subprocess.run(probe, capture_output=True, text=True, check=True).stdout)
    print(f"21 MB request taken apart: peak {growth:.0f} MiB over its raw bytes")


if __name__ == "__main__":
    main()
