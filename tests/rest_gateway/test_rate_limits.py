"""Rate limits: 429 with headers, shared through the real Redis, not fooled by X-Forwarded-For."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.support.gateway import PASSWORD, GatewayThread
from tests.support.redis_server import REDIS_SERVER, redis_server


def test_limited_request_gets_429_with_headers(
    start_gateway: Callable[..., GatewayThread], token: str
) -> None:
    gateway = start_gateway(rate_limit="3/minute")
    with gateway.client(headers={"Authorization": f"Bearer {token}"}) as client:
        replies = [client.post("/v1/scale") for _ in range(4)]
    assert [r.status_code for r in replies] == [415, 415, 415, 429]
    limited = replies[-1]
    assert limited.json()["error"] == "rate_limited"
    assert int(limited.headers["retry-after"]) > 0
    assert limited.headers["x-ratelimit-limit"] == "3"
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert "x-ratelimit-reset" in limited.headers


def test_limits_are_per_subject(start_gateway: Callable[..., GatewayThread], token: str) -> None:
    gateway = start_gateway(rate_limit="2/minute")
    with gateway.client() as client:
        other = client.post("/v1/token", data={"username": "alice", "password": PASSWORD}).json()
    # The same subject from two tokens shares one budget.
    statuses = []
    for bearer in (token, other["access_token"], token):
        with gateway.client(headers={"Authorization": f"Bearer {bearer}"}) as client:
            statuses.append(client.post("/v1/scale").status_code)
    assert statuses == [415, 415, 429]


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A Redis of this module's own on a free port (tests/support/redis_server.py)."""
    if shutil.which(REDIS_SERVER) is None:
        message = "redis-server is missing: apt-get install redis-server"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with redis_server() as url:
        yield url


def test_two_gateways_sharing_redis_let_through_exactly_the_limit(
    start_gateway: Callable[..., GatewayThread], token: str, redis_url: str
) -> None:
    prefix = f"test-shared-{uuid.uuid4().hex}"
    gateways = [
        start_gateway(limiter_prefix=prefix, rate_limit="5/minute", rate_limit_storage=redis_url)
        for _ in range(2)
    ]
    statuses = []
    for attempt in range(12):
        gateway = gateways[attempt % 2]
        with gateway.client(headers={"Authorization": f"Bearer {token}"}) as client:
            statuses.append(client.post("/v1/scale").status_code)
    assert statuses.count(415) == 5
    assert statuses.count(429) == 7


def test_rotating_x_forwarded_for_from_an_untrusted_peer_does_not_escape(
    start_gateway: Callable[..., GatewayThread],
) -> None:
    gateway = start_gateway(token_rate_limit="3/minute")
    statuses = []
    with gateway.client() as client:
        for n in range(6):
            reply = client.post(
                "/v1/token",
                data={"username": "alice", "password": "guess"},
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            )
            statuses.append(reply.status_code)
    assert statuses == [401, 401, 401, 429, 429, 429]


def test_unauthenticated_attempts_are_limited_by_address(
    start_gateway: Callable[..., GatewayThread],
) -> None:
    gateway = start_gateway(rate_limit="2/minute")
    with gateway.client(headers={"Authorization": "Bearer forged"}) as client:
        statuses = [client.post("/v1/scale").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


def test_a_trusted_proxy_forwards_distinct_clients(
    start_gateway: Callable[..., GatewayThread],
) -> None:
    gateway = start_gateway(token_rate_limit="1/minute", trusted_proxies="127.0.0.1/32")
    with gateway.client() as client:
        statuses = [
            client.post(
                "/v1/token",
                data={"username": "alice", "password": "guess"},
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            ).status_code
            for n in (1, 2, 1)
        ]
    assert statuses == [401, 401, 429]


@pytest.mark.parametrize(("fail_open", "status"), [(True, 415), (False, 503)])
def test_redis_unreachable_fails_in_the_configured_direction(
    start_gateway: Callable[..., GatewayThread], token: str, fail_open: bool, status: int
) -> None:
    gateway = start_gateway(
        rate_limit_storage="redis://127.0.0.1:1", rate_limit_fail_open=fail_open
    )
    with gateway.client(headers={"Authorization": f"Bearer {token}"}) as client:
        reply = client.post("/v1/scale")
    assert reply.status_code == status, reply.text
    if status == 503:
        assert reply.json()["error"] == "rate_limit_unavailable"
        assert reply.headers["retry-after"].isdigit()
