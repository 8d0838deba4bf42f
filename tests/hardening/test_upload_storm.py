"""A storm of large uploads through all three services, each run as an overlay's manifests
run it (its ConfigMaps' and env's settings): every request gets its image or a clear 503 with
Retry-After, and each service's peak memory stays under its pod's memory limit, because every
layer admits work by bytes (the gateway's uploads in flight, the API's bytes in flight, the
image service's decode budget)."""

from __future__ import annotations

import io
import struct
import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest
from PIL import Image

from imagescaler.runtime.memory_budget import PROCESS_BASELINE_BYTES
from imagescaler.runtime.memory_tuning import PIXEL_WORK
from tests.support.overlays import SERVICES, command_of, overlay_pods, pod_environment
from tests.support.processes import ServiceProcess, three_services
from tests.support.system_checks import PASSWORD, USER, write_gateway_secret
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

MiB = 1024 * 1024
UPLOADS = 120
OVERLAYS = ["base", "overlays/dev", "overlays/prod"]
# What the gateway and the API keep after a storm is connection and thread state, not
# messages (those are checked gone by test_call_admission.py): tens of MiB over idle,
# whatever the storm's size. The image service keeps free memory its decodes reuse (its worker
# threads' heaps hold up to the trim threshold each at their tops, which malloc_trim leaves:
# memory_tuning.PIXEL_WORK): it comes back under the baseline its decode budget leaves it
# (memory_budget.PROCESS_BASELINE_BYTES) with those heaps.
STATE_MIB = 64
PIXEL_HEAPS_MIB = PIXEL_WORK.arenas * (PIXEL_WORK.trim_threshold or 0) // MiB
IMAGE_SERVICE_MIB = PROCESS_BASELINE_BYTES // MiB + PIXEL_HEAPS_MIB


def back_under(name: str, idle: float) -> float:
    """The level a service must come back under after a storm, in MiB."""
    return IMAGE_SERVICE_MIB if name == "image service" else idle + STATE_MIB


def padded_jpeg(size: int) -> bytes:
    """A real 1600x1200 photo-sized JPEG made `size` bytes long with comment segments: as
    heavy on the wire and in every buffer as a 21 MB photo, cheap to decode."""
    buffer = io.BytesIO()
    Image.effect_noise((1600, 1200), 64).convert("RGB").save(buffer, "JPEG", quality=85)
    body = buffer.getvalue()
    segment = b"\xff\xfe" + struct.pack(">H", 65535) + b"\0" * 65533
    count = (size - len(body)) // len(segment)
    return body[:2] + segment * count + body[2:]


def memory_mib(service: ServiceProcess, field: str = "VmHWM") -> float:
    """The process's peak (VmHWM) or current (VmRSS) resident memory."""
    status = Path(f"/proc/{service.process.pid}/status").read_text()
    return int(status.split(f"{field}:")[1].split()[0]) / 1024


def storm(base: str, token: str, photo: bytes) -> Counter[tuple[int, str]]:
    """UPLOADS concurrent uploads of `photo`; each answer's status and error code."""
    answers: list[tuple[int, str, str | None]] = []

    def upload() -> None:
        try:
            reply = httpx.post(
                f"{base}/v1/scale",
                headers={"Authorization": f"Bearer {token}"},
                files={"file": ("big.jpg", photo, "image/jpeg")},
                timeout=120,
            )
            code = reply.json()["error"] if reply.status_code != 200 else "ok"
            answers.append((reply.status_code, code, reply.headers.get("Retry-After")))
        except httpx.HTTPError as error:
            answers.append((0, type(error).__name__, None))

    threads = [threading.Thread(target=upload) for _ in range(UPLOADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert len(answers) == UPLOADS
    assert all(retry for status, _, retry in answers if status == 503)
    return Counter((status, code) for status, code, _ in answers)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_storms_of_21_mb_uploads_stay_under_each_pods_memory_limit(
    overlay: str, tmp_path: Path
) -> None:
    pods = overlay_pods(overlay)
    limits = {name: spec.memory_limit for name, spec in pods.items()}
    assert all(limits.values()), f"{overlay}: a container has no memory limit: {limits}"
    photo = padded_jpeg(21 * 1000 * 1000)
    env = pod_environment(pods, write_gateway_secret(tmp_path / "jwt"))
    commands = {deployment: command_of(pods[name]) for deployment, name in SERVICES.items()}
    with three_services(commands, env) as (ports, services):
        base = f"http://127.0.0.1:{ports.gateway}"
        form = {"username": USER, "password": PASSWORD}
        token = httpx.post(f"{base}/v1/token", data=form).json()["access_token"]
        idle = {s.name: memory_mib(s, "VmRSS") for s in services}
        for number in (1, 2):  # the second proves that what a storm leaves behind is reused
            tally = storm(base, token, photo)
            print(f"{overlay}, storm {number}: {UPLOADS} concurrent uploads of "
                  f"{len(photo) / 1e6:.0f} MB: {dict(tally)}")  # fmt: skip
            for service in services:
                name, limit = service.name, limits[service.name] / MiB
                print(f"  {name}: idle {idle[name]:.0f}, peak {memory_mib(service):.0f} MiB "
                      f"(limit {limit:.0f})")  # fmt: skip
            assert set(tally) <= {(200, "ok"), (503, "overloaded")}, tally
            assert tally[(200, "ok")] >= 1
            for service in services:
                level = back_under(service.name, idle[service.name])
                wait_until(
                    lambda s=service, v=level: memory_mib(s, "VmRSS") <= v,
                    30,
                    f"{service.name} back under {level:.0f} MiB "
                    f"(at {memory_mib(service, 'VmRSS'):.0f} when the wait began)",
                )
                print(f"  {service.name}: back to {memory_mib(service, 'VmRSS'):.0f} MiB")
        peaks = {s.name: memory_mib(s) for s in services}  # VmHWM: over both storms
    for name, peak in peaks.items():
        assert peak * MiB <= limits[name], f"{overlay}: {name} peaked at {peak:.0f} MiB"
