"""The one log line per request, for gRPC and HTTP alike: key=value text, and the same
fields as JSON keys when logging is JSON."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger("imagescaler.requests")


def log_request(**fields: Any) -> None:
    logger.info(" ".join(f"{key}={value}" for key, value in fields.items()), extra=fields)
