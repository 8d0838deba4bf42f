"""The one log line per request, for gRPC and HTTP alike: key=value text, and the same
fields as JSON keys when logging is JSON.

Values can come from users (a profile's name, a URL, an error that quotes them), so each is
bounded to MAX_FIELD_CHARS and, in the text line, quoted with its control characters escaped
whenever it is not a plain token: a newline cannot forge a line, nor a space a field."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

logger = logging.getLogger("imagescaler.requests")

MAX_FIELD_CHARS = 200
_PLAIN = re.compile(r"[A-Za-z0-9_.:/@#+,;()\[\]-]*")


def log_request(**fields: Any) -> None:
    bounded = {key: bound(value) for key, value in fields.items()}
    logger.info(" ".join(f"{key}={quote(value)}" for key, value in bounded.items()), extra=bounded)


def bound(value: Any) -> Any:
    """Numbers and booleans as they are; anything else as text of MAX_FIELD_CHARS at most."""
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    if len(text) <= MAX_FIELD_CHARS:
        return text
    return f"{text[:MAX_FIELD_CHARS]}...(+{len(text) - MAX_FIELD_CHARS} chars)"


def quote(value: Any) -> str:
    """A plain token as it is, anything else as a JSON string (quotes, escapes, ASCII)."""
    text = str(value)
    return text if _PLAIN.fullmatch(text) and text else json.dumps(text)
