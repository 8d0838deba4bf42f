"""POST /v1/preprocess, GET /v1/profiles and POST /v1/inspect through the real gateway."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable

import httpx
import numpy as np

from imagescaler.imaging.builtin_profiles import BUILTIN_PROFILES
from imagescaler.imaging.mapping import Geometry
from imagescaler.imaging.preprocess import preprocess
from tests.support.gateway import GatewayThread
from tests.support.images import open_bytes, shared_image

PHOTO = "phone_4032x3024_exif6.jpg"


def upload(http: httpx.Client, profile: str, accept: str | None = None) -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    return http.post(
        "/v1/preprocess",
        params={"profile": profile},
        files={"file": (PHOTO, shared_image(PHOTO), "image/jpeg")},
        headers=headers,
    )


def test_imagenet_224_as_npy_is_the_librarys_array(http: httpx.Client) -> None:
    reply = upload(http, "imagenet-224", "application/x-npy")
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/x-npy"
    array = np.load(io.BytesIO(reply.content))
    local = preprocess(shared_image(PHOTO), BUILTIN_PROFILES["imagenet-224"])
    assert array.shape == (3, 224, 224) and array.dtype == np.float32
    assert np.array_equal(array, local.array)
    assert reply.headers["x-imagescaler-profile"] == local.profile
    geometry = json.loads(reply.headers["x-imagescaler-geometry"])
    assert geometry["output_size"] == [224, 224] and geometry["orientation"] == 6
    assert reply.headers["x-request-id"]


def test_json_gives_shape_dtype_geometry_and_the_data_in_base64(http: httpx.Client) -> None:
    reply = upload(http, "clip-224", "application/json")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    data = np.frombuffer(base64.b64decode(body["data"]), body["dtype"]).reshape(body["shape"])
    local = preprocess(shared_image(PHOTO), BUILTIN_PROFILES["clip-224"])
    assert np.array_equal(data, local.array) and body["profile"] == local.profile
    assert body["geometry"]["output_to_source"] == [
        list(r) for r in local.geometry.output_to_source
    ]


def test_yolo_640_geometry_maps_a_box_back_to_the_photo(http: httpx.Client) -> None:
    reply = upload(http, "yolo-640")
    assert reply.status_code == 200, reply.text
    geometry = Geometry.from_dict(json.loads(reply.headers["x-imagescaler-geometry"]))
    assert geometry.padding == (80, 0, 80, 0)  # a portrait, letterboxed left and right
    # A detection covering the whole picture inside the letterbox is the whole photo.
    x0, y0, x1, y1 = geometry.box_to_source((80.0, 0.0, 560.0, 640.0))
    assert (round(x0), round(y0), round(x1), round(y1)) == (0, 0, 3024, 4032)


def test_an_image_profile_answers_with_the_image(http: httpx.Client) -> None:
    reply = upload(http, "default")
    assert reply.status_code == 200 and reply.headers["content-type"] == "image/jpeg"
    assert (reply.headers["x-image-width"], reply.headers["x-image-height"]) == ("1024", "768")
    assert open_bytes(reply.content).size == (1024, 768)


def test_a_tensor_cannot_be_had_as_an_image(http: httpx.Client) -> None:
    reply = upload(http, "yolo-640", "image/png")
    assert reply.status_code == 406 and reply.json()["error"] == "not_acceptable"
    assert "application/x-npy" in reply.json()["detail"]


def test_accept_is_negotiated_before_the_upload_is_read(http: httpx.Client) -> None:
    """Not an image, and an Accept the profile cannot meet: 406, so the upload never reached
    the API (which would have answered 415)."""
    reply = http.post(
        "/v1/preprocess",
        params={"profile": "yolo-640"},
        files={"file": ("x.jpg", b"not an image", "image/jpeg")},
        headers={"Accept": "image/png, application/json;q=0"},
    )
    assert reply.status_code == 406, reply.text
    assert reply.json()["detail"] == (
        "profile yolo-640 gives application/x-npy or application/json; Accept allows neither"
    )


def test_accept_weights_and_case_are_honoured(http: httpx.Client) -> None:
    not_json = upload(http, "imagenet-224", "application/json;q=0, */*")
    assert not_json.headers["content-type"] == "application/x-npy"
    upper = upload(http, "imagenet-224", "Application/JSON")
    assert upper.status_code == 200 and upper.json()["shape"] == [3, 224, 224]


def test_an_unknown_profile_is_404_naming_the_known_ones(http: httpx.Client) -> None:
    reply = upload(http, "resnet-9000")
    assert reply.status_code == 404 and reply.json()["error"] == "unknown_profile"
    assert "imagenet-224" in reply.json()["detail"] and reply.json()["request_id"]


def test_profiles_are_listed_with_references(http: httpx.Client) -> None:
    listed = {p["name"]: p for p in http.get("/v1/profiles").json()["profiles"]}
    assert set(listed) == set(BUILTIN_PROFILES)
    assert listed["yolo-640"]["ref"] == BUILTIN_PROFILES["yolo-640"].reference
    assert listed["imagenet-224"]["spec"]["size"]["rule"] == "shortest_edge"


def test_inspect_answers_the_header_facts(http: httpx.Client) -> None:
    reply = http.post("/v1/inspect", files={"file": (PHOTO, shared_image(PHOTO), "image/jpeg")})
    assert reply.status_code == 200, reply.text
    facts = reply.json()
    assert facts["orientation"] == 6 and facts["upright_size"] == [3024, 4032]
    pdf = http.post(
        "/v1/inspect", files={"file": ("x.pdf", shared_image("formats/test.pdf"), "image/jpeg")}
    )
    assert pdf.status_code == 415 and pdf.json()["error"] == "unsupported_image"


def test_the_new_routes_need_a_token_and_are_rate_limited(
    start_gateway: Callable[..., GatewayThread], token: str
) -> None:
    gateway = start_gateway(rate_limit="2/minute")
    with gateway.client() as anonymous:
        assert anonymous.get("/v1/profiles").status_code == 401
    with gateway.client(headers={"Authorization": f"Bearer {token}"}) as http:
        statuses = [http.get("/v1/profiles").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_a_query_parameter_a_route_ignores_is_refused(http: httpx.Client) -> None:
    """Round 3: /v1/scale?profile=yolo-640 silently gave a 1024x768 grey JPEG."""
    photo = {"file": (PHOTO, shared_image(PHOTO), "image/jpeg")}
    scale = http.post("/v1/scale", params={"profile": "yolo-640"}, files=photo)
    assert scale.status_code == 400 and scale.json()["error"] == "invalid_request"
    assert scale.json()["detail"] == (
        "unknown query parameter 'profile' on /v1/scale: it takes none; "
        "profiles are for /v1/preprocess"
    )
    typo = http.post("/v1/preprocess", params={"profil": "yolo-640"}, files=photo)
    assert typo.status_code == 400 and "'profil'" in typo.json()["detail"]
    assert "it takes profile" in typo.json()["detail"]
    assert upload(http, "yolo-640").status_code == 200  # the parameter it takes still works
