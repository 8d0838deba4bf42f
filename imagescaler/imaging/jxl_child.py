"""The child process that decodes one JPEG XL image under a CPU limit (jxl_decoder.py runs it).

It runs as `python -I -S jxl_child.py EXTENSION CPU_SECONDS`, with no site-packages and
no project imports, so it starts in about 20 ms: only the libjxl binding (pillow_jxl's
extension module, loaded from its file) and the standard library. The kernel enforces the
limit: at CPU_SECONDS of CPU (all threads) a profiling timer's SIGPROF ends the child; the
CPU rlimit (SIGXCPU, then SIGKILL) a second later is the backstop.

stdin: the JPEG XL bytes, then EOF.
stdout: a 4-byte big-endian length and a JSON header {jpeg, mode, width, height, sizes},
then the pixels (or, for a recompressed JPEG, the JPEG's bytes), the ICC profile and the
Exif payload, each as long as the header says. On failure: exit 1, the reason on stderr.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import math
import resource
import signal
import struct
import sys
from typing import Any


def load_binding(path: str) -> Any:
    loader = importlib.machinery.ExtensionFileLoader("pillow_jxl", path)
    spec = importlib.util.spec_from_file_location("pillow_jxl", path, loader=loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def exif_payload(boxes: Any) -> bytes:
    """The Exif box's TIFF data, without the 4-byte offset the box starts with."""
    for box in boxes:
        if box.box_type == b"Exif":
            data = bytes(box.data)
            if len(data) > 8 and data[4:8] in (b"II\x2a\x00", b"MM\x00\x2a"):
                return data[4:]
            return data
    return b""


def main() -> int:
    extension, cpu_seconds = sys.argv[1], float(sys.argv[2])
    backstop = math.ceil(cpu_seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (backstop, backstop + 1))
    signal.setitimer(signal.ITIMER_PROF, cpu_seconds)  # SIGPROF's default action ends us
    binding = load_binding(extension)
    data = sys.stdin.buffer.read()
    try:
        jpeg, info, pixels, icc, boxes = binding.Decoder(num_threads=1)(data)
    except Exception as error:  # the binding raises plain exceptions for bad data
        sys.stderr.write(str(error).splitlines()[0] if str(error) else type(error).__name__)
        return 1
    icc = bytes(icc or b"")
    exif = b"" if jpeg else exif_payload(boxes)
    header = json.dumps(
        {
            "jpeg": bool(jpeg),
            "mode": "JPEG" if jpeg else info.mode,
            "width": info.width,
            "height": info.height,
            "sizes": [len(pixels), len(icc), len(exif)],
        }
    ).encode()
    out = sys.stdout.buffer
    out.write(struct.pack(">I", len(header)) + header)
    for part in (pixels, icc, exif):
        out.write(part)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
