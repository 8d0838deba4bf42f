"""The upload page (GET /) and the gateway's Prometheus metrics (GET /metrics)."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import FileResponse, Response

WEB_ROOT = resources.files("web")
router = APIRouter(include_in_schema=False)


@router.get("/")
async def upload_page() -> FileResponse:
    return FileResponse(str(WEB_ROOT / "index.html"))


@router.get("/metrics")
async def prometheus_metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)
