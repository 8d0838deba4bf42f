"""The request in progress: its id and the fields its log line will carry, across awaits."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar
from typing import Any

REQUEST_ID_HEADER = "x-request-id"
_request_id: ContextVar[str] = ContextVar("request_id", default="-")
_fields: ContextVar[dict[str, Any] | None] = ContextVar("request_fields", default=None)
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def current_request_id() -> str:
    return _request_id.get()


def set_request_id(value: str | None) -> str:
    """Use the caller's id when it is sane, else make one; returns the id in force."""
    request_id = value if value and _ACCEPTABLE.fullmatch(value) else uuid.uuid4().hex
    _request_id.set(request_id)
    return request_id


def begin_request(request_id: str | None) -> str:
    """Start a request: its id, and an empty set of fields for its log line."""
    _fields.set({})
    return set_request_id(request_id)


def annotate(**fields: Any) -> None:
    """Add fields (bytes, sizes, ...) to the current request's log line."""
    current = _fields.get()
    if current is not None:
        current.update(fields)


def request_fields() -> dict[str, Any]:
    return dict(_fields.get() or {})
