"""The limits every part starts from, defined once: the services' settings default to them,
the library's DEFAULT_LIMITS (what `batch --local` and training code use) is them, and the
manifests leave them to these defaults."""

from __future__ import annotations

MiB = 1024 * 1024
MAX_IMAGE_BYTES = 25 * MiB  # the largest phone and camera JPEGs are under 15 MB
MAX_PIXELS = 50_000_000  # a 50 MP PNG needs about 150 MB to decode
MAX_SIDE = 16384  # the largest output side a profile or the API's target size may ask for
