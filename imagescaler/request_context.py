"""The request id of the work in progress, carried in a context variable across awaits."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

REQUEST_ID_HEADER = "x-request-id"
_request_id: ContextVar[str] = ContextVar("request_id", default="-")
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def current_request_id() -> str:
    return _request_id.get()


def set_request_id(value: str | None) -> str:
    """Use the caller's id when it is sane, else make one; returns the id in force."""
    request_id = value if value and _ACCEPTABLE.fullmatch(value) else uuid.uuid4().hex
    _request_id.set(request_id)
    return request_id
