"""The upload page in a real headless Chromium (Debian's), driven by Playwright."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.gateway import PASSWORD, GatewayThread
from tests.support.paths import ROOT, SHARED_IMAGES

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM):
        message = f"{CHROMIUM} is missing: apt-get install chromium (make test does it as root)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, gateway: GatewayThread) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(gateway.url + "/")
    yield page
    context.close()


def sign_in(page: Any, password: str) -> None:
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_upload_and_see_the_result(page: Any) -> None:
    sign_in(page, PASSWORD)
    page.get_by_label("Image file").set_input_files(
        str(SHARED_IMAGES / "phone_4032x3024_exif6.jpg")
    )
    assert page.locator("#results").is_hidden()  # nothing to show before the first result
    page.get_by_role("button", name="Scale").click()
    result_info = page.locator("#result-info")
    expect(result_info).to_contain_text("1024 × 768", timeout=30_000)
    page.wait_for_function("document.querySelector('#result').naturalWidth > 0", timeout=30_000)
    assert page.locator("#result").evaluate("img => [img.naturalWidth, img.naturalHeight]") == [
        1024,
        768,
    ]
    assert "3024 × 4032" in page.locator("#original-info").inner_text()  # shown upright
    assert (
        page.get_by_role("link", name="Download the result").get_attribute("download")
        == "scaled.jpg"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "upload-page.png"), full_page=True)


def test_wrong_password_shows_a_message(page: Any) -> None:
    sign_in(page, "not the password")
    alert = page.get_by_role("alert")
    alert.wait_for(state="visible")
    assert alert.inner_text() == "Wrong user name or password."
    assert page.locator("#work").is_hidden()


def test_unsupported_file_shows_a_message(page: Any) -> None:
    sign_in(page, PASSWORD)
    page.get_by_label("Image file").set_input_files(str(SHARED_IMAGES / "formats" / "test.pdf"))
    page.get_by_role("button", name="Scale").click()
    alert = page.get_by_role("alert")
    alert.wait_for(state="visible")
    assert alert.inner_text().startswith("This file type is not supported.")


def test_keyboard_only_sign_in(page: Any) -> None:
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.locator("#work").wait_for(state="visible")
    assert page.evaluate("document.activeElement.id") == "drop-zone"
