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


def choose_and_scale(page: Any, profile: str) -> None:
    expect(page.locator(f"#profile option[value='{profile}']")).to_have_count(1, timeout=10_000)
    page.get_by_label("Profile", exact=True).select_option(profile)
    page.get_by_label("Image file").set_input_files(
        str(SHARED_IMAGES / "phone_4032x3024_exif6.jpg")
    )
    page.get_by_role("button", name="Scale").click()


def test_a_tensor_profile_is_previewed_with_its_reference_and_geometry(page: Any) -> None:
    sign_in(page, PASSWORD)
    choose_and_scale(page, "yolo-640")
    expect(page.locator("#result-info")).to_contain_text(
        "Tensor 3 × 640 × 640 float32", timeout=30_000
    )
    expect(page.locator("#profile-ref")).to_contain_text("yolo-640@1#")
    assert "padding: [80,0,80,0]" in page.locator("#geometry").inner_text()
    preview = page.locator("#tensor-preview")
    assert preview.is_visible() and page.locator("#result").is_hidden()
    # The letterbox (left 80 columns) is YOLO's grey 114; the photo is in between.
    left, middle = preview.evaluate(
        "c => [Array.from(c.getContext('2d').getImageData(10, 320, 1, 1).data),"
        " Array.from(c.getContext('2d').getImageData(320, 320, 1, 1).data)]"
    )
    assert left[:3] == [114, 114, 114] and middle[:3] != [114, 114, 114]
    assert page.get_by_role("link", name="Download the result").get_attribute("download") == (
        "yolo-640.npy"
    )
    box = page.locator("#crop-box")
    assert [box.get_attribute(a) for a in ("x", "y", "width", "height")] == [
        "0",
        "0",
        "3024",
        "4032",
    ]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "upload-page-yolo-640.png"), full_page=True)


def test_the_crop_box_is_drawn_over_the_original(page: Any) -> None:
    sign_in(page, PASSWORD)
    choose_and_scale(page, "imagenet-224")
    expect(page.locator("#result-info")).to_contain_text("Tensor 3 × 224 × 224", timeout=30_000)
    box = page.locator("#crop-box")
    x, y, width = (float(box.get_attribute(a) or "nan") for a in ("x", "y", "width"))
    assert (round(x), round(y), round(width)) == (189, 686, 2646)  # the centre crop
    drawn = box.evaluate("r => r.getBoundingClientRect().width")
    shown = page.locator("#original").evaluate("img => img.getBoundingClientRect().width")
    assert abs(drawn / shown - 2646 / 3024) < 0.01  # on the image, at the image's scale
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "upload-page-imagenet-224.png"), full_page=True)
