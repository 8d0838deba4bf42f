"""URLs as people paste them: accented paths and international hosts are encoded as browsers
encode them and fetched; NAT64, 6to4 and Teredo addresses are judged by the IPv4 inside."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import grpc
import pytest
from PIL import Image

from grpc_api.download import CheckedBackend, Downloader
from grpc_api.url_policy import AddressPolicy, check_url
from imagescaler.grpc_runtime.server import RunningServer
from imagescaler.runtime.errors import InvalidRequest, SourceRefused
from tests.support.gateway import GatewayThread
from tests.support.images import encode
from tests.support.servers import LocalHttpServer, Route, ScaleClient

PHOTO = encode(Image.new("RGB", (1600, 1200), "teal"), "JPEG")
ACCENTED_PATH = "/%C3%A9t%C3%A9/caf%C3%A9%20cr%C3%A8me.jpg"  # /été/café crème.jpg, encoded


@pytest.fixture
def store_api(start_api: Callable[..., RunningServer]) -> ScaleClient:
    return ScaleClient(start_api(allowed_url_networks="127.0.0.1/32", download_timeout=3.0).port)


def test_a_non_ascii_path_is_percent_encoded_and_fetched(
    store_api: ScaleClient, http_server: LocalHttpServer
) -> None:
    http_server.routes[ACCENTED_PATH] = Route(body=PHOTO)
    store_api.scale(url=http_server.url("/été/café crème.jpg"))
    assert [path for path, _ in http_server.requests] == [ACCENTED_PATH]


def test_a_non_ascii_redirect_location_is_followed_as_utf_8(
    store_api: ScaleClient, http_server: LocalHttpServer
) -> None:
    # Servers send the Location's UTF-8 bytes raw; http.server writes headers as latin-1.
    raw_location = "/été/café crème.jpg".encode().decode("latin-1")
    http_server.routes["/moved"] = Route(302, headers={"Location": raw_location})
    http_server.routes[ACCENTED_PATH] = Route(body=PHOTO)
    store_api.scale(url=http_server.url("/moved"))
    assert [path for path, _ in http_server.requests] == ["/moved", ACCENTED_PATH]


def test_an_unresolvable_international_host_is_a_download_failure_not_internal(
    store_api: ScaleClient,
) -> None:
    error = store_api.error(url="http://éxample.invalid/a.jpg")
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error.details()
    assert "xn--xample-9ua.invalid" in (error.details() or "")


def test_an_international_host_is_looked_up_by_its_idna_name() -> None:
    asked: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]  # refused by the policy, so nothing is connected to

    async def go() -> None:
        backend = CheckedBackend(AddressPolicy(), resolver)
        downloader = Downloader(10_000, 2.0, 1.0, 2, AddressPolicy(), backend=backend)
        try:
            with pytest.raises(SourceRefused):
                await downloader.fetch("http://bücher.example/b.jpg")
        finally:
            await downloader.close()

    asyncio.run(go())
    assert asked == ["xn--bcher-kva.example"]


@pytest.mark.parametrize(
    "url",
    [
        "http://exa mple.com/a.jpg",  # a space in the host
        "http://\u0000.example/a.jpg",
        "http://a..b/a.jpg",  # an empty label cannot be IDNA-encoded
        "http://" + "a" * 64 + ".example/a.jpg",  # a label over 63 characters
    ],
)
def test_what_cannot_be_encoded_is_refused_clearly(url: str) -> None:
    with pytest.raises(InvalidRequest, match="host"):
        check_url(url)


@pytest.mark.parametrize(
    ("address", "inside"),
    [
        ("64:ff9b::7f00:1", "127.0.0.1"),  # NAT64, well-known prefix
        ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
        ("64:ff9b:1::a00:1", "a local-use NAT64"),  # RFC 8215: refused whole
        ("::ffff:0:127.0.0.1", "127.0.0.1"),  # IPv4-translated (RFC 2765), round 3
        ("::ffff:0:a9fe:a9fe", "169.254.169.254"),
        ("2002:7f00:1::1", "127.0.0.1"),  # 6to4
        ("2002:a00:1::1", "10.0.0.1"),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "127.0.0.1"),  # Teredo, client 127.0.0.1
    ],
)
def test_ipv6_addresses_that_carry_ipv4_are_judged_by_the_ipv4(address: str, inside: str) -> None:
    why = AddressPolicy().refusal(address)
    assert why is not None and inside in why


def test_nat64_and_6to4_of_a_public_address_are_allowed_teredo_never() -> None:
    assert AddressPolicy().refusal("64:ff9b::5db8:d822") is None  # 93.184.216.34
    assert AddressPolicy().refusal("2002:5db8:d822::1") is None
    assert AddressPolicy().refusal("::ffff:0:93.184.216.34") is None
    # Teredo of a public client address: still refused, as 2001::/32 is not public.
    assert AddressPolicy().refusal("2001:0:4136:e378:8000:63bf:a247:2ddd") is not None


def test_a_nat64_url_to_loopback_is_refused_without_connecting(client: ScaleClient) -> None:
    error = client.error(url="http://[64:ff9b::127.0.0.1]:18080/a.jpg")
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED, error.details()
    assert "127.0.0.1" in (error.details() or "")


def test_source_refused_is_still_the_type_for_refusals() -> None:
    async def go() -> None:
        downloader = Downloader(10_000, 2.0, 1.0, 2, AddressPolicy())
        try:
            await downloader.fetch("http://[2002:7f00:1::1]/a.jpg")
        finally:
            await downloader.close()

    with pytest.raises(SourceRefused):
        asyncio.run(go())


def test_the_gateway_fetches_accented_urls_and_answers_bad_hosts_with_400(
    start_gateway: Callable[..., GatewayThread],
    api_private: RunningServer,
    http_server: LocalHttpServer,
    token: str,
) -> None:
    http_server.routes[ACCENTED_PATH] = Route(body=PHOTO)
    gateway = start_gateway(api=f"127.0.0.1:{api_private.port}")
    with gateway.client(headers={"Authorization": f"Bearer {token}"}) as client:
        fetched = client.post("/v1/scale", json={"url": http_server.url("/été/café crème.jpg")})
        unresolvable = client.post("/v1/scale", json={"url": "http://éxample.invalid/a.jpg"})
        bad_host = client.post("/v1/scale", json={"url": "http://a..b/a.jpg"})
    assert fetched.status_code == 200, fetched.text
    assert unresolvable.status_code == 422, unresolvable.text
    assert "xn--xample-9ua.invalid" in unresolvable.json()["detail"]
    assert bad_host.status_code == 400 and "host" in bad_host.json()["detail"], bad_host.text
