"""Typed dependencies of the routes, read from app.state (set once by main.create_app)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from imagescaler.runtime.bearer_tokens import AuthError
from rest_gateway.errors import GatewayError
from rest_gateway.identity import Identity
from rest_gateway.observability import HttpMetrics
from rest_gateway.profile_outputs import ProfileOutputs
from rest_gateway.scaler_api_client import ScalerApiClient

bearer_token = OAuth2PasswordBearer(tokenUrl="/v1/token", auto_error=False)


def get_identity(request: Request) -> Identity:
    identity: Identity = request.app.state.identity
    return identity


def get_api(request: Request) -> ScalerApiClient:
    api: ScalerApiClient = request.app.state.api
    return api


def get_profile_outputs(request: Request) -> ProfileOutputs:
    outputs: ProfileOutputs = request.app.state.profile_outputs
    return outputs


def get_metrics(request: Request) -> HttpMetrics:
    metrics: HttpMetrics = request.app.state.metrics
    return metrics


IdentityDep = Annotated[Identity, Depends(get_identity)]
ApiDep = Annotated[ScalerApiClient, Depends(get_api)]
MetricsDep = Annotated[HttpMetrics, Depends(get_metrics)]
ProfileOutputsDep = Annotated[ProfileOutputs, Depends(get_profile_outputs)]
TokenDep = Annotated[str | None, Depends(bearer_token)]


@dataclass(frozen=True)
class Caller:
    """The outcome of authentication: a subject, or why there is none."""

    subject: str | None
    failure: AuthError | None = None
    token: str | None = field(default=None, repr=False)  # passed on to the API with each call

    def require(self) -> str:
        if self.subject is None:
            failure = self.failure or AuthError("missing_token", "a bearer token is required")
            raise GatewayError(401, failure.reason, failure.message, {"WWW-Authenticate": "Bearer"})
        return self.subject

    @property
    def failure_reason(self) -> str:
        return self.failure.reason if self.failure else "missing_token"


async def authenticate(request: Request, token: TokenDep, identity: IdentityDep) -> Caller:
    """Never raises: the rate limit must count failed attempts before they are refused. A
    verified subject is kept on the request for the rate limit's key."""
    if token is None:
        return Caller(None)
    try:
        subject = identity.verifier.verify(token)
    except AuthError as failure:
        return Caller(None, failure)
    request.state.subject = subject
    return Caller(subject, token=token)


CallerDep = Annotated[Caller, Depends(authenticate)]


def require_caller(caller: Caller, metrics: HttpMetrics) -> str:
    """In a rate-limited route's body (the limit has counted the attempt by now): the
    subject, or the refusal, counted by reason."""
    if caller.subject is None:
        metrics.auth_failures.labels(caller.failure_reason).inc()
    return caller.require()


def refuse_unknown_query(request: Request) -> None:
    """400 `invalid_request` for a query parameter the route does not take: one that is
    ignored would silently give something else (round 3: /v1/scale?profile=yolo-640 gave a
    1024x768 grey JPEG)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    known = _query_names(dependant) if dependant is not None else set()
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        takes = f"it takes {', '.join(sorted(known))}" if known else "it takes none"
        hint = "; profiles are for /v1/preprocess" if "profile" in unknown else ""
        raise GatewayError(
            400,
            "invalid_request",
            f"unknown query parameter {', '.join(map(repr, unknown))} on "
            f"{request.url.path}: {takes}{hint}",
        )


def _query_names(dependant: Any) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


KnownQuery = Depends(refuse_unknown_query)
