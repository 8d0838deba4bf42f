"""Abuse at the gateway: huge, slow and oversized requests, floods, and a schema fuzzer."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.gateway import GatewayThread
from tests.support.raw_http import drip_until_answered, raw_exchange


@pytest.fixture
def strict_gateway(start_gateway: Callable[..., GatewayThread]) -> GatewayThread:
    return start_gateway(
        header_timeout=1.0, body_timeout=1.0, max_header_bytes=8192, max_image_bytes=1 << 20
    )


def test_silent_client_is_dropped_after_the_header_timeout(strict_gateway: GatewayThread) -> None:
    answer = raw_exchange(strict_gateway.port, [])
    assert answer.startswith(b"HTTP/1.1 408") and b"did not arrive in time" in answer


def test_slow_headers_time_out(strict_gateway: GatewayThread) -> None:
    """A header line every 0.1 s would keep a per-read timeout from ever firing."""
    answer, drops = drip_until_answered(
        strict_gateway.port, b"POST /v1/scale HTTP/1.1\r\n", b"X-Slow: 1\r\n", pace=0.1
    )
    assert answer.startswith(b"HTTP/1.1 408") and b"did not arrive in time" in answer
    assert drops < 400, "the gateway kept reading headers for as long as they came"


def test_slow_body_times_out(strict_gateway: GatewayThread, token: str) -> None:
    head = (
        b"POST /v1/scale HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + token.encode()
        + b"\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n"
    )
    part = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
    answer, drops = drip_until_answered(strict_gateway.port, head + part, b"x", pace=0.1)
    assert answer.startswith(b"HTTP/1.1 408") and b"request_timeout" in answer
    assert drops < 400, "the gateway kept reading the body for as long as it came"


def test_oversized_headers_are_refused(strict_gateway: GatewayThread) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
    answer = raw_exchange(strict_gateway.port, [request])
    assert answer.startswith(b"HTTP/1.1 431")


def test_oversized_headers_arriving_slowly_are_refused(strict_gateway: GatewayThread) -> None:
    """4 KiB at a time, each read apart: the limit counts across reads."""
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: "
    answer, drops = drip_until_answered(strict_gateway.port, head, b"a" * 4096, pace=0.05)
    assert answer.startswith(b"HTTP/1.1 431") and drops < 400


def test_ordinary_requests_still_pass(strict_gateway: GatewayThread) -> None:
    with strict_gateway.client() as client:
        assert client.get("/healthz", headers={"X-Fine": "a" * 2000}).status_code == 200


def test_a_1_gib_upload_is_cut_off_at_the_limit(strict_gateway: GatewayThread, token: str) -> None:
    sent = 0

    def one_gibibyte() -> Iterator[bytes]:
        nonlocal sent
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n'
        for _ in range(16384):
            sent += 65536
            yield b"\0" * 65536

    with strict_gateway.client(headers={"Authorization": f"Bearer {token}"}) as client:
        try:
            reply = client.post(
                "/v1/scale",
                content=one_gibibyte(),
                headers={"Content-Type": "multipart/form-data; boundary=b"},
            )
        except httpx.TransportError:
            reply = None
    assert sent < 32 << 20, f"{sent} bytes went out before the gateway stopped reading"
    if reply is not None:
        assert reply.status_code == 413


def test_many_small_requests_are_rate_limited(
    start_gateway: Callable[..., GatewayThread], token: str
) -> None:
    gateway = start_gateway(rate_limit="20/minute")
    with gateway.client(headers={"Authorization": f"Bearer {token}"}) as client:
        statuses = [client.post("/v1/scale").status_code for _ in range(50)]
    assert statuses.count(429) == 30 and 500 not in statuses


def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    gateway: GatewayThread, token: str, tmp_path: Path
) -> None:
    checks = "not_a_server_error,status_code_conformance,response_schema_conformance"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{gateway.url}/openapi.json",
            "--checks",
            checks,
            "--header",
            f"Authorization: Bearer {token}",
            "--max-examples",
            "40",
            "--seed",
            "4711",
            "--no-color",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp_path,  # its .schemathesis cache goes here, not into the checkout
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
