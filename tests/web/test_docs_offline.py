"""The API docs with every other host out of reach, as behind a firewall or in an air-gapped
cluster: Swagger UI and ReDoc come from the gateway itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.support.gateway import PASSWORD, GatewayThread
from tests.support.paths import SHARED_IMAGES

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def offline(browser: Any, gateway: GatewayThread) -> Iterator[tuple[Any, list[str]]]:
    """A page whose requests to any host but the gateway's are refused, and recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    elsewhere: list[str] = []

    def only_the_gateway(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_gateway)
    page = context.new_page()
    yield page, elsewhere
    context.close()


def authorize(page: Any) -> None:
    """Swagger UI's Authorize dialog: the OAuth2 password flow as alice."""
    page.locator("button.authorize").first.click()
    page.locator("#oauth_username").fill("alice")
    page.locator("#oauth_password").fill(PASSWORD)
    page.locator(".auth-btn-wrapper button.authorize").click()
    expect(page.locator(".auth-container")).to_contain_text("Authorized", timeout=10_000)
    page.locator(".auth-btn-wrapper button.btn-done").click()


def test_swagger_ui_renders_signs_in_and_scales_an_upload(
    offline: tuple[Any, list[str]], gateway: GatewayThread
) -> None:
    page, elsewhere = offline
    page.goto(gateway.url + "/docs")
    scale = page.locator("#operations-images-scale_v1_scale_post")
    expect(scale).to_be_visible(timeout=20_000)
    authorize(page)
    scale.locator(".opblock-summary").click()
    scale.get_by_role("button", name="Try it out").click()
    scale.locator("input[type=file]").set_input_files(str(SHARED_IMAGES / "hotdog_1400x1316.jpg"))
    scale.get_by_role("button", name="Execute").click()
    status = scale.locator(".live-responses-table tbody td.response-col_status").first
    expect(status).to_have_text("200", timeout=30_000)
    expect(scale.locator(".live-responses-table")).to_contain_text("image/jpeg")
    assert elsewhere == [], f"the docs reached for other hosts: {elsewhere}"


def test_redoc_renders_offline(offline: tuple[Any, list[str]], gateway: GatewayThread) -> None:
    page, elsewhere = offline
    page.goto(gateway.url + "/redoc")
    heading = page.locator("h2").filter(has_text="Scale an uploaded image or one at a URL")
    expect(heading.first).to_be_visible(timeout=20_000)
    assert elsewhere == [], f"ReDoc reached for other hosts: {elsewhere}"


def test_swagger_try_it_out_gives_a_tensor_profiles_npy(
    offline: tuple[Any, list[str]], gateway: GatewayThread
) -> None:
    """Round 3: Swagger sent `accept: image/jpeg` (the first type listed) and got 406 for a
    tensor profile. Now it sends */* and the profile is a choice in a drop-down."""
    page, elsewhere = offline
    page.goto(gateway.url + "/docs")
    operation = page.locator("#operations-preprocessing-preprocess_v1_preprocess_post")
    expect(operation).to_be_visible(timeout=20_000)
    authorize(page)
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    choices = operation.locator("select").filter(has_text="yolo-640")
    choices.select_option("yolo-640")
    operation.locator("input[type=file]").set_input_files(
        str(SHARED_IMAGES / "hotdog_1400x1316.jpg")
    )
    operation.get_by_role("button", name="Execute").click()
    status = operation.locator(".live-responses-table tbody td.response-col_status").first
    expect(status).to_have_text("200", timeout=30_000)
    expect(operation.locator(".live-responses-table")).to_contain_text("application/x-npy")
    assert elsewhere == [], f"the docs reached for other hosts: {elsewhere}"
