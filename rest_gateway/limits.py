"""Rate limits (slowapi): per verified subject, and per client address before authentication."""

from __future__ import annotations

import functools
import inspect
import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any

from slowapi import Limiter
from starlette.requests import Request

from rest_gateway.settings import GatewaySettings

# Short, so that a Redis outage costs a request at most this long.
REDIS_TIMEOUTS = {"socket_connect_timeout": 0.25, "socket_timeout": 0.25}


def client_address_resolver(trusted_proxies: list[str]) -> Callable[[Request], str]:
    """The client's address: the direct peer, or, behind a trusted proxy, the last address in
    X-Forwarded-For that is not itself a trusted proxy."""
    networks = [ipaddress.ip_network(n, strict=False) for n in trusted_proxies]

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in network for network in networks)

    def client_address(request: Request) -> str:
        peer = request.client.host if request.client else "unknown"
        if not is_trusted(peer):
            return peer
        forwarded = request.headers.get("x-forwarded-for", "")
        for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
            if not is_trusted(hop):
                return hop
        return peer

    return client_address


def build_limiter(settings: GatewaySettings, key_prefix: str = "imagescaler") -> Limiter:
    client_address = client_address_resolver(settings.trusted_proxies)
    # Storage failures surface as limits.errors.StorageError, answered 503 when failing closed.
    options: dict[str, object] = {"wrap_exceptions": True}
    if settings.rate_limit_storage.startswith("redis"):
        options.update(REDIS_TIMEOUTS)
    return Limiter(
        key_func=lambda request: f"address:{client_address(request)}",
        storage_uri=settings.rate_limit_storage,
        storage_options=options,
        strategy="moving-window",
        headers_enabled=True,
        swallow_errors=settings.rate_limit_fail_open,
        key_prefix=key_prefix,
    )


def subject_or_address(limiter: Limiter) -> Callable[[Request], str]:
    """After authentication the verified subject; before it (or when it failed) the address."""

    def key(request: Request) -> str:
        subject = getattr(request.state, "subject", None)
        return f"subject:{subject}" if subject else limiter._key_func(request)

    return key


Endpoint = Callable[..., Awaitable[Any]]


def rate_limited(name: str) -> Callable[[Endpoint], Endpoint]:
    """Marks a module-level endpoint as limited by the app's limit `name`. slowapi binds a
    limit to the Limiter that decorates the function, and each app has its own Limiter and
    settings, so create_app has its Limiter wrap the endpoint (limited_endpoints) and this
    calls that wrapper."""

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def limited(*args: Any, **kwargs: Any) -> Any:
            wrapped: Endpoint = kwargs["request"].app.state.limited_endpoints[name]
            return await wrapped(*args, **kwargs)

        return limited

    return decorate


def limited_endpoints(
    limiter: Limiter, limits: dict[str, tuple[Endpoint, str, Callable[[Request], str] | None]]
) -> dict[str, Endpoint]:
    """Each named endpoint wrapped by `limiter` with its limit and key (None: the address)."""
    wrapped: dict[str, Endpoint] = {}
    for name, (endpoint, limit, key) in limits.items():
        decorator = limiter.limit(limit, key_func=key) if key else limiter.limit(limit)
        wrapped[name] = decorator(inspect.unwrap(endpoint))
    return wrapped
