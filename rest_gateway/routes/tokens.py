"""POST /v1/token: sign in with the OAuth2 password flow (only when this gateway issues tokens)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from rest_gateway.deps import IdentityDep, KnownQuery, MetricsDep
from rest_gateway.errors import GatewayError
from rest_gateway.limits import rate_limited
from rest_gateway.schemas import TokenResponse, error_responses

router = APIRouter(tags=["auth"], dependencies=[KnownQuery])
PasswordForm = Annotated[OAuth2PasswordRequestForm, Depends()]


@router.post(
    "/v1/token",
    summary="Sign in: OAuth2 password flow",
    response_model=TokenResponse,
    responses=error_responses(400, 401, 429),
)
@rate_limited("token")
async def token(
    request: Request,
    response: Response,
    form: PasswordForm,
    identity: IdentityDep,
    metrics: MetricsDep,
) -> TokenResponse:
    """Exchange a user name and password for a bearer token."""
    issuer = identity.issuer
    assert issuer is not None  # main.py includes this router only when there is one
    if not await asyncio.to_thread(identity.users.authenticate, form.username, form.password):
        metrics.auth_failures.labels("invalid_credentials").inc()
        raise GatewayError(
            401,
            "invalid_credentials",
            "wrong user name or password",
            {"WWW-Authenticate": "Bearer"},
        )
    issued = issuer.issue(form.username)
    return TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in)
