"""What each profile answers with (an image type or a .npy, or JSON), known before the call.

Read from the API's ListProfiles and kept; a name not seen is looked up again (at most once
per REFRESH_SECONDS, so unknown names cannot turn into a stream of ListProfiles calls), and
a name still unknown is left to the API, which answers 404 naming the known ones."""

from __future__ import annotations

import json
import time

from imagescaler.imaging.encoding import NPY as NPY_FORMAT
from imagescaler.imaging.encoding import OUTPUT_FORMATS
from rest_gateway.scaler_api_client import ScalerApiClient

NPY = NPY_FORMAT.media_type
JSON = "application/json"
DEFAULT_PROFILE = "default"
REFRESH_SECONDS = 10.0


class ProfileOutputs:
    def __init__(self, api: ScalerApiClient) -> None:
        self._api = api
        self._offers: dict[str, list[str]] = {}
        self._refreshed = -REFRESH_SECONDS

    async def offers(self, profile: str, token: str | None) -> list[str] | None:
        """The media types `profile` can answer with, its default first; None if unknown.
        `token`: the caller's, for the API's ListProfiles when the profiles are looked up."""
        name = profile or DEFAULT_PROFILE
        if name not in self._offers and time.monotonic() - self._refreshed >= REFRESH_SECONDS:
            await self._refresh(token)
        return self._offers.get(name)

    async def _refresh(self, token: str | None) -> None:
        self._refreshed = time.monotonic()
        listed = await self._api.list_profiles(token)
        self._offers = {p.name: offers_of(json.loads(p.spec_json)) for p in listed.profiles}


def offers_of(spec: dict[str, object]) -> list[str]:
    output = spec.get("output")
    assert isinstance(output, dict)
    if output.get("kind") == "tensor":
        return [NPY, JSON]
    return [OUTPUT_FORMATS[str(output.get("format", "jpeg")).upper()].media_type, JSON]
