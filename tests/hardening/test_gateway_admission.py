"""The gateway admits request bodies by count and by bytes, and answers the rest 503 at once,
their bodies unread; a slow body anywhere, /v1/token included, is 408."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import httpx
import pytest

from rest_gateway.settings import GatewaySettings
from tests.support.gateway import GatewayThread
from tests.support.images import shared_image
from tests.support.raw_http import drip_until_answered
from tests.support.waiting import wait_until

PHOTO = shared_image("bird_1920x1080.jpg")


def uploads_admitted(gateway: GatewayThread) -> int:
    """Uploads the gateway's admission holds now (0 before its first request)."""
    return gateway.admission().uploads if gateway.app.middleware_stack is not None else 0


def wait_for_uploads(gateway: GatewayThread, count: int) -> None:
    wait_until(lambda: uploads_admitted(gateway) == count, 10, f"{count} uploads admitted")


@contextmanager
def upload_held_open(gateway: GatewayThread, token: str, length: int) -> Iterator[socket.socket]:
    """An upload that declares `length` bytes, sends its first part and then waits, once the
    gateway has admitted it. Counts from the uploads admitted now: a request answered just
    before may still hold its slot (it is given back after the answer is sent), so wait for
    that first."""
    admitted = uploads_admitted(gateway)
    with socket.create_connection(("127.0.0.1", gateway.port)) as connection:
        connection.sendall(
            b"POST /v1/scale HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token.encode()
            + b"\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            + b"Content-Length: %d\r\n\r\n--b\r\n" % length
        )  # fmt: skip
        wait_for_uploads(gateway, admitted + 1)
        yield connection


def post_photo(gateway: GatewayThread, token: str) -> httpx.Response:
    with gateway.client(headers={"Authorization": f"Bearer {token}"}) as client:
        return client.post("/v1/scale", files={"file": ("p.jpg", PHOTO, "image/jpeg")})


def assert_overloaded(reply: httpx.Response, words: str) -> None:
    assert reply.status_code == 503, reply.text
    assert reply.json()["error"] == "overloaded" and words in reply.json()["detail"]
    assert reply.headers["Retry-After"].isdigit()
    assert reply.headers["Connection"] == "close"


def test_uploads_over_the_count_are_refused_at_once_then_admitted_again(
    start_gateway: Callable[..., GatewayThread], token: str
) -> None:
    gateway = start_gateway(max_uploads_in_flight=2)
    with ExitStack() as held:
        for _ in range(2):
            held.enter_context(upload_held_open(gateway, token, 50_000))
        refused = post_photo(gateway, token)  # answered while both are held: not queued
        assert_overloaded(refused, "2 uploads")
    wait_for_uploads(gateway, 0)  # the held connections are closed and their slots given back
    assert post_photo(gateway, token).status_code == 200


def test_uploads_over_the_bytes_are_refused_and_a_body_without_length_counts_in_full(
    start_gateway: Callable[..., GatewayThread], token: str
) -> None:
    gateway = start_gateway(max_upload_bytes_in_flight="6MiB", max_image_bytes=4 << 20)

    def chunked() -> httpx.Response:
        with gateway.client(headers={"Authorization": f"Bearer {token}"}) as client:
            return client.post(
                "/v1/scale",
                content=iter([b"--b\r\n"]),
                headers={"Content-Type": "multipart/form-data; boundary=b"},
            )

    # Idle, a body without Content-Length (counted as the largest allowed) is admitted.
    assert chunked().status_code == 400
    # Its slot is given back after its answer is sent: the count must be 0 again before the
    # held uploads count from it (a loaded run read 1, then waited for 2 that never came).
    wait_for_uploads(gateway, 0)
    with ExitStack() as held:
        for _ in range(3):  # 6 MB of the 6 MiB held
            held.enter_context(upload_held_open(gateway, token, 2_000_000))
        assert_overloaded(post_photo(gateway, token), "of 6 MiB")
        assert_overloaded(chunked(), "of 6 MiB")
    wait_for_uploads(gateway, 0)
    assert post_photo(gateway, token).status_code == 200


def test_a_body_over_the_limit_is_413_even_when_busy(
    start_gateway: Callable[..., GatewayThread], token: str
) -> None:
    gateway = start_gateway(max_uploads_in_flight=1, max_image_bytes=1 << 20)
    with (
        upload_held_open(gateway, token, 50_000),
        gateway.client(headers={"Authorization": f"Bearer {token}"}) as client,
    ):
        big = client.post("/v1/scale", files={"file": ("a.jpg", b"x" * (2 << 20))})
    assert big.status_code == 413, big.text


def test_reads_are_not_counted(start_gateway: Callable[..., GatewayThread], token: str) -> None:
    gateway = start_gateway(max_uploads_in_flight=1)
    with upload_held_open(gateway, token, 50_000), gateway.client() as client:
        assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("path", ["/v1/token", "/v1/scale"])
def test_a_slow_body_is_408_on_every_route(
    start_gateway: Callable[..., GatewayThread], token: str, path: str
) -> None:
    gateway = start_gateway(body_timeout=1.0)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
    ).encode()
    first = b"username=alice&"
    if path == "/v1/scale":
        head = head.replace(
            b"application/x-www-form-urlencoded", b"multipart/form-data; boundary=b"
        )
        first = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
    answer, drops = drip_until_answered(gateway.port, head + first, b"x", pace=0.1)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert drops < 400, "the gateway kept reading the body for as long as it came"
    assert b"request_timeout" in answer and b"connection: close" in answer.lower()


def test_a_byte_budget_smaller_than_one_upload_with_its_framing_is_refused() -> None:
    with pytest.raises(ValueError, match="max_upload_bytes_in_flight"):
        GatewaySettings(max_image_bytes=32 << 20, max_upload_bytes_in_flight="32MiB")
