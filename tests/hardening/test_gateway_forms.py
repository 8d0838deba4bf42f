"""Slow bodies that are not uploads hold no upload slot, and one address cannot hold them all.

Round 3 found three connections sending a /v1/token body a byte every 5 s (declaring 25 + 25
+ 14 MiB) made every legitimate upload 503 for 75 s. Now only image routes count as uploads,
any other body is a small form (16 KiB, 5 s), and each client address has its own share of
the upload slots."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import httpx

from rest_gateway.body_limit import FORM_LIMIT
from tests.support.gateway import GatewayThread
from tests.support.images import shared_image
from tests.support.raw_http import read_answer
from tests.support.waiting import wait_until

PHOTO = shared_image("bird_1920x1080.jpg")


@contextmanager
def body_held_open(
    port: int, path: str, length: int, headers: bytes = b"", source: str = "127.0.0.1"
) -> Iterator[socket.socket]:
    """A POST that declares `length` bytes, sends one and then waits."""
    with socket.create_connection(("127.0.0.1", port), source_address=(source, 0)) as connection:
        connection.sendall(
            b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" + headers
            + b"Content-Type: multipart/form-data; boundary=b\r\n"
            + b"Content-Length: %d\r\n\r\n-" % length
        )  # fmt: skip
        yield connection


def upload(gateway: GatewayThread, token: str, source: str = "127.0.0.1") -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=source)
    with gateway.client(headers={"Authorization": f"Bearer {token}"}, transport=transport) as c:
        return c.post("/v1/scale", files={"file": ("p.jpg", PHOTO, "image/jpeg")})


def test_slow_token_bodies_and_unknown_paths_hold_no_upload_slot(
    start_gateway: Callable[..., GatewayThread], token: str
) -> None:
    gateway = start_gateway(max_uploads_in_flight=2, max_uploads_per_address=2)
    assert upload(gateway, token).status_code == 200  # builds the middleware stack
    with ExitStack() as held:
        for _ in range(30):
            held.enter_context(body_held_open(gateway.port, "/v1/token", 10))
        wait_until(lambda: gateway.requests_in_progress >= 30, 10, "30 token forms under way")
        # An unknown path is answered 404 at once, its body unread.
        with body_held_open(gateway.port, "/nowhere", FORM_LIMIT) as connection:
            connection.settimeout(30)
            assert connection.recv(4096).startswith(b"HTTP/1.1 404")
        assert gateway.admission().uploads == 0
        replies = [upload(gateway, token) for _ in range(6)]
        assert [r.status_code for r in replies] == [200] * 6, replies[-1].text
        assert gateway.requests_in_progress >= 30  # the forms are still held


def test_a_form_over_16_kib_is_413_and_a_slow_one_408(
    start_gateway: Callable[..., GatewayThread],
) -> None:
    gateway = start_gateway(body_timeout=1.0)  # a form gets min(body_timeout, 5 s)
    with gateway.client() as client:
        big = client.post("/v1/token", data={"username": "u" * FORM_LIMIT, "password": "p"})
    assert big.status_code == 413 and f"{FORM_LIMIT} bytes" in big.json()["detail"]
    with body_held_open(gateway.port, "/v1/token", 10) as connection:
        connection.settimeout(30)
        answer = read_answer(connection)  # the gateway answers and closes by itself
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"did not arrive within 1 s" in answer


def test_one_address_cannot_hold_every_upload_slot(
    start_gateway: Callable[..., GatewayThread], token: str
) -> None:
    gateway = start_gateway(max_uploads_in_flight=8, max_uploads_per_address=2)
    bearer = b"Authorization: Bearer " + token.encode() + b"\r\n"
    assert upload(gateway, token).status_code == 200
    with ExitStack() as held:
        for _ in range(2):
            held.enter_context(body_held_open(gateway.port, "/v1/scale", 50_000, bearer))
        wait_until(lambda: gateway.admission().uploads == 2, 10, "two uploads admitted")
        refused = upload(gateway, token)
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"] == "too_many_uploads"
        assert "already sending 2 uploads" in refused.json()["detail"]
        assert refused.headers["Retry-After"].isdigit()
        other = upload(gateway, token, source="127.0.0.2")  # another address is served
        assert other.status_code == 200, other.text
    wait_until(lambda: gateway.admission().uploads == 0, 10, "the held uploads let go")
    assert upload(gateway, token).status_code == 200


def test_every_route_that_takes_a_body_is_an_upload_or_the_token_form(
    start_gateway: Callable[..., GatewayThread],
) -> None:
    """UPLOAD_PATHS is written out: a new image route missing from it would be held to 16 KiB."""
    from rest_gateway.upload_admission import UPLOAD_PATHS

    paths = start_gateway().app.openapi()["paths"]
    posts = {path for path, operations in paths.items() if "post" in operations}
    assert "/v1/token" in posts
    assert posts - {"/v1/token"} == UPLOAD_PATHS
