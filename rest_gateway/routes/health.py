"""GET /healthz (the process is alive) and GET /readyz (the API answers its health check)."""

from __future__ import annotations

from fastapi import APIRouter

from rest_gateway.deps import ApiDep
from rest_gateway.errors import RETRY_AFTER_SECONDS, GatewayError
from rest_gateway.schemas import Health, error_responses

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    responses=error_responses(503),
    summary="The ImageScaler API answers its health check",
)
async def readyz(api: ApiDep) -> Health:
    if await api.ready():
        return Health(status="ready")
    raise GatewayError(
        503, "api_unavailable", "the image API is not ready", {"Retry-After": RETRY_AFTER_SECONDS}
    )
