"""The upload page (GET /)."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from starlette.responses import FileResponse

WEB_ROOT = resources.files("web")
router = APIRouter(include_in_schema=False)


@router.get("/")
async def upload_page() -> FileResponse:
    return FileResponse(str(WEB_ROOT / "index.html"))
