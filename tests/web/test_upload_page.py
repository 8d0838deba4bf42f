"""The upload page in a real headless Chromium (Debian's), driven by Playwright."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.gateway import PASSWORD, GatewayThread
from tests.support.paths import SHARED_IMAGES

pytestmark = [pytest.mark.browser, pytest.mark.slow]


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


def test_sign_in_upload_and_see_the_result(page: Any, artifacts: Path) -> None:
    sign_in(page, PASSWORD)
    page.get_by_label("Image file").set_input_files(
        str(SHARED_IMAGES / "phone_4032x3024_exif6.jpg")
    )
    assert page.locator("#results").is_hidden()  # nothing to show before the first result
    page.get_by_role("button", name="Preprocess").click()
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
    page.screenshot(path=str(artifacts / "upload-page.png"), full_page=True)


def test_wrong_password_shows_a_message(page: Any) -> None:
    sign_in(page, "not the password")
    alert = page.get_by_role("alert")
    alert.wait_for(state="visible")
    assert alert.inner_text() == "Wrong user name or password."
    assert page.locator("#work").is_hidden()


def test_unsupported_file_shows_a_message(page: Any) -> None:
    sign_in(page, PASSWORD)
    page.get_by_label("Image file").set_input_files(str(SHARED_IMAGES / "formats" / "test.pdf"))
    page.get_by_role("button", name="Preprocess").click()
    alert = page.get_by_role("alert")
    alert.wait_for(state="visible")
    assert alert.inner_text().startswith("This file type is not supported (PDF is not accepted")


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
    page.get_by_role("button", name="Preprocess").click()


def test_a_tensor_profile_is_previewed_with_its_reference_and_geometry(
    page: Any, artifacts: Path
) -> None:
    sign_in(page, PASSWORD)
    choose_and_scale(page, "yolo-640")
    expect(page.locator("#result-info")).to_contain_text(
        "Tensor 3 × 640 × 640 float32", timeout=30_000
    )
    expect(page.locator("#profile-ref")).to_contain_text("yolo-640@1#")
    padding = page.locator("#geometry tr", has_text="padding")
    expect(padding).to_contain_text("[80, 0, 80, 0]")
    expect(padding).to_contain_text("letterbox added around it")
    # Rounded for display: no float noise such as 6.300000000000001 anywhere.
    shown = page.locator("#geometry td:nth-child(2)").all_inner_texts()
    assert shown and not any(re.search(r"\.\d{4,}", value) for value in shown), shown
    expect(page.locator("#geometry tr", has_text="output_to_source")).to_contain_text(
        "maps a point of the result to the photo"
    )
    assert page.locator("#geometry-docs").get_attribute("href") == "/docs#/preprocessing"
    expect(page.get_by_role("heading", name="Preprocess an image")).to_be_visible()
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
    page.screenshot(path=str(artifacts / "upload-page-yolo-640.png"), full_page=True)


def test_the_crop_box_is_drawn_over_the_original(page: Any, artifacts: Path) -> None:
    sign_in(page, PASSWORD)
    choose_and_scale(page, "imagenet-224")
    expect(page.locator("#result-info")).to_contain_text("Tensor 3 × 224 × 224", timeout=30_000)
    box = page.locator("#crop-box")
    x, y, width = (float(box.get_attribute(a) or "nan") for a in ("x", "y", "width"))
    assert (round(x), round(y), round(width)) == (189, 686, 2646)  # the centre crop
    drawn = box.evaluate("r => r.getBoundingClientRect().width")
    shown = page.locator("#original").evaluate("img => img.getBoundingClientRect().width")
    assert abs(drawn / shown - 2646 / 3024) < 0.01  # on the image, at the image's scale
    page.screenshot(path=str(artifacts / "upload-page-imagenet-224.png"), full_page=True)


def scale_photo(page: Any, name: str) -> None:
    page.get_by_label("Image file").set_input_files(str(SHARED_IMAGES / name))
    page.get_by_role("button", name="Preprocess").click()


def test_an_error_clears_the_earlier_result_and_takes_the_focus(page: Any) -> None:
    sign_in(page, PASSWORD)
    scale_photo(page, "hotdog_1400x1316.jpg")
    expect(page.locator("#results")).to_be_visible(timeout=30_000)
    assert page.evaluate("document.activeElement.id") == "results"
    scale_photo(page, "formats/test.pdf")
    expect(page.get_by_role("alert")).to_be_visible(timeout=30_000)
    assert page.locator("#results").is_hidden()
    assert page.locator("#download").get_attribute("href") is None
    assert page.evaluate("document.activeElement.id") == "error"
    message = page.get_by_role("alert").inner_text()
    assert message.startswith("This file type is not supported") and message.count("JPEG") == 1


def test_a_host_that_does_not_resolve_is_a_download_failure(page: Any) -> None:
    sign_in(page, PASSWORD)
    page.get_by_label("or an image URL").fill("http://no-such-host.invalid/a.jpg")
    page.get_by_role("button", name="Preprocess").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("could not be downloaded", timeout=30_000)
    assert "could not resolve host no-such-host.invalid" in alert.inner_text()


def test_the_last_of_file_and_url_is_sent_and_the_page_says_so(page: Any) -> None:
    sign_in(page, PASSWORD)
    page.get_by_label("Image file").set_input_files(str(SHARED_IMAGES / "hotdog_1400x1316.jpg"))
    expect(page.locator("#drop-help")).to_have_text("Chosen: hotdog_1400x1316.jpg")
    page.get_by_label("or an image URL").fill("https://example.com/a.jpg")
    expect(page.locator("#source-note")).to_contain_text("The URL will be sent")
    assert page.locator("#file").evaluate("f => f.files.length") == 0
    expect(page.locator("#drop-help")).to_have_text(
        "Drop an image here, or press Enter to choose a file"
    )  # no stale name
    page.get_by_label("Image file").set_input_files(str(SHARED_IMAGES / "bird_1920x1080.jpg"))
    expect(page.locator("#source-note")).to_contain_text("The file will be sent")
    assert page.get_by_label("or an image URL").input_value() == ""
    page.get_by_label("Image file").set_input_files([])
    expect(page.locator("#drop-help")).to_have_text(
        "Drop an image here, or press Enter to choose a file"
    )


def test_on_a_phone_the_drop_zone_says_tap(browser: Any, gateway: GatewayThread) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
    )
    page = context.new_page()
    page.goto(gateway.url + "/")
    try:
        sign_in(page, PASSWORD)
        expect(page.locator("#drop-help")).to_have_text("Tap here to choose an image")
    finally:
        context.close()


def test_at_phone_width_nothing_overflows_and_the_result_is_scrolled_to(
    browser: Any, gateway: GatewayThread, artifacts: Path
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(gateway.url + "/")
    try:
        sign_in(page, PASSWORD)
        scale_photo(page, "phone_4032x3024_exif6.jpg")  # a portrait, stretched by default
        expect(page.locator("#results")).to_be_visible(timeout=30_000)
        widest = page.evaluate(
            "Math.max(...[...document.querySelectorAll('form *')]"
            ".map(e => e.getBoundingClientRect().right))"
        )
        assert widest <= 390 and page.evaluate("document.documentElement.scrollWidth") <= 390
        top = page.locator("#results").evaluate("e => e.getBoundingClientRect().top")
        assert -1 <= top < 844  # scrolled to: on screen, not below the first screen
        note = page.locator("#aspect-note")
        expect(note).to_contain_text("the aspect ratio changed")
        page.screenshot(path=str(artifacts / "upload-page-phone.png"))
    finally:
        context.close()


@pytest.mark.parametrize(
    ("profile", "shape"),
    [
        ("deit-224", "3 × 224 × 224"),
        ("detr-800", "3 × 1066 × 800"),
        ("sam-1024", "3 × 1024 × 1024"),
        ("dpt-384", "3 × 512 × 384"),
        ("qwen2-vl", "3 × 1148 × 840"),
        ("owlv2-960", "3 × 960 × 960"),
    ],
)
def test_each_size_rule_is_previewed(page: Any, profile: str, shape: str) -> None:
    """The phone photo (upright 3024x4032) through each model family's rule."""
    sign_in(page, PASSWORD)
    choose_and_scale(page, profile)
    expect(page.locator("#result-info")).to_contain_text(f"Tensor {shape} float32", timeout=60_000)
    expect(page.locator("#profile-ref")).to_contain_text(f"{profile}@1#")
    preview = page.locator("#tensor-preview")
    assert preview.is_visible()
    if profile == "sam-1024":
        # 768 columns of photo, then SAM's padding: 0 after normalising, ImageNet's mean before.
        pad = preview.evaluate(
            "c => Array.from(c.getContext('2d').getImageData(900, 500, 1, 1).data)"
        )
        assert all(abs(a - b) <= 1 for a, b in zip(pad[:3], (124, 116, 104), strict=True)), pad
        expect(page.locator("#geometry tr", has_text="padding")).to_contain_text("[0, 0, 256, 0]")
