"""Accept, as RFC 9110 12.5.1 reads it: weights, q=0, case, specificity, the default first.
Round 3 found `application/json;q=0` still got JSON and `application/JSON` got 406."""

from __future__ import annotations

import pytest

from rest_gateway.negotiation import negotiate

TENSOR = ["application/x-npy", "application/json"]
IMAGE = ["image/jpeg", "application/json"]


@pytest.mark.parametrize(
    ("accept", "offers", "chosen"),
    [
        ("", TENSOR, "application/x-npy"),  # no Accept: the default
        ("*/*", TENSOR, "application/x-npy"),
        ("*/*", IMAGE, "image/jpeg"),
        ("application/JSON", TENSOR, "application/json"),  # media types are case-insensitive
        ("Application/Json; charset=utf-8", IMAGE, "application/json"),
        ("application/json;q=0, */*", TENSOR, "application/x-npy"),  # q=0: not acceptable
        ("application/json;q=0", TENSOR, None),
        ("application/json;q=0.5, image/*", IMAGE, "image/jpeg"),
        ("image/*;q=0.2, application/json;q=0.9", IMAGE, "application/json"),
        ("image/jpeg;q=0, image/*", IMAGE, None),  # the most specific range decides
        ("image/png", TENSOR, None),
        ("image/png", IMAGE, None),
        ("text/html, application/xhtml+xml, */*;q=0.8", IMAGE, "image/jpeg"),  # a browser
        ("application/json, application/x-npy", TENSOR, "application/x-npy"),  # tie: default
        ("nonsense", TENSOR, "application/x-npy"),  # unreadable: as if absent
        ("application/json;q=abc", TENSOR, "application/json"),
    ],
)
def test_the_chosen_type(accept: str, offers: list[str], chosen: str | None) -> None:
    assert negotiate(accept, offers) == chosen
