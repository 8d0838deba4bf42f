"""Settings of the REST gateway (env prefix IMAGESCALER_GATEWAY_)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, ByteSize, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from imagescaler.runtime.settings import (
    API_PORT,
    GATEWAY_METRICS_PORT,
    GATEWAY_PORT,
    Address,
    CommaList,
    Networks,
    OptionalAddress,
    ServiceSettings,
    TokenClaimsSettings,
    loopback,
    require_room_for_one,
)

MIN_HMAC_SECRET_BYTES = 32
MULTIPART_OVERHEAD = 64 * 1024  # room for the multipart framing around the largest image


def check_rate(value: str) -> str:
    from limits import parse_many

    parse_many(value)
    return value


Rate = Annotated[str, AfterValidator(check_rate)]


class GatewaySettings(ServiceSettings, TokenClaimsSettings):
    model_config = SettingsConfigDict(env_prefix="IMAGESCALER_GATEWAY_")

    listen: Address = Field(
        loopback(GATEWAY_PORT), description="address the HTTP server listens on"
    )
    metrics_listen: OptionalAddress = Field(
        loopback(GATEWAY_METRICS_PORT),
        description="address of the Prometheus /metrics endpoint, apart from the public port "
        "(empty: off)",
    )
    api: str = Field(loopback(API_PORT), description="gRPC target of the ImageScaler API")
    api_timeout: float = Field(60.0, gt=0, description="deadline in seconds for each API call")
    token_ttl: int = Field(3600, ge=60, description="lifetime in seconds of tokens issued here")
    jwt_signing_key_file: Path | None = Field(
        None, description="PEM private key (RSA or EC P-256) to issue RS256/ES256 tokens"
    )
    jwt_hs256_secret: SecretStr | None = Field(
        None, description="HMAC secret for HS256 tokens, at least 32 bytes (prefer keys)"
    )
    jwt_public_keys_file: Path | None = Field(
        None, description="PEM public key or JWKS file of an identity provider (RS256/ES256)"
    )
    users_file: Path | None = Field(
        None, description="JSON object of user name to password hash (imagescaler hash-password)"
    )
    users: CommaList = Field(
        default_factory=list,
        description="users as name:hash pairs, comma-separated (hashes: imagescaler hash-password)",
    )
    dev_state_file: Path | None = Field(
        None, description="local development state: signing key and dev user (imagescaler up)"
    )
    rate_limit: Rate = Field(
        "60/minute",
        description="requests per user to each of /v1/scale, /v1/preprocess, /v1/inspect and "
        "/v1/profiles (each counted apart)",
    )
    token_rate_limit: Rate = Field(
        "10/minute", description="requests to /v1/token per client address"
    )
    rate_limit_storage: str = Field(
        "memory://", description="memory:// (one process) or redis://host:port (shared)"
    )
    rate_limit_fail_open: bool = Field(
        True, description="when the limit storage is down: true lets requests through, false 503"
    )
    header_timeout: float = Field(
        10.0, gt=0, description="seconds a client has to send its request headers (else 408)"
    )
    body_timeout: float = Field(
        60.0, gt=0, description="seconds a client has to send its request body (else 408)"
    )
    max_uploads_in_flight: int = Field(
        64, ge=1, description="uploads (image bodies) received at once; more get 503 overloaded"
    )
    max_upload_bytes_in_flight: ByteSize = Field(
        ByteSize(96 * 1024 * 1024),
        ge=1024 * 1024,
        description="bytes of request bodies held at once (each counts as its Content-Length, "
        "or the upload limit if it has none); more get 503 overloaded",
    )
    max_uploads_per_address: int = Field(
        16,
        ge=1,
        description="request bodies one client address may send at once; more get 429 "
        "too_many_uploads",
    )
    max_header_bytes: int = Field(
        16 * 1024, ge=1024, description="largest request headers accepted (else 431)"
    )
    trusted_proxies: Networks = Field(
        default_factory=list,
        description="peer networks whose X-Forwarded-For is believed, comma-separated",
    )
    cors_origins: CommaList = Field(
        default_factory=list, description="origins allowed by CORS, comma-separated (off if empty)"
    )

    @field_validator("users")
    @classmethod
    def _name_and_hash(cls, users: list[str]) -> list[str]:
        for entry in users:
            name, _, password_hash = entry.partition(":")
            if not name or not password_hash.startswith("scrypt$"):
                raise ValueError(f"{entry.split(':')[0]!r}: expected name:scrypt$... pairs")
        return users

    @field_validator("jwt_hs256_secret")
    @classmethod
    def _long_enough(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and len(secret.get_secret_value().encode()) < MIN_HMAC_SECRET_BYTES:
            raise ValueError(f"an HS256 secret must be at least {MIN_HMAC_SECRET_BYTES} bytes")
        return secret

    @model_validator(mode="after")
    def _one_upload_fits(self) -> GatewaySettings:
        require_room_for_one(
            "max_upload_bytes_in_flight",
            self.max_upload_bytes_in_flight,
            "one upload of the largest image with its framing",
            self.body_limit,
        )
        return self

    @model_validator(mode="after")
    def _issued_tokens_are_accepted(self) -> GatewaySettings:
        if self.token_ttl > self.jwt_max_lifetime:
            raise ValueError(
                "token_ttl is longer than jwt_max_lifetime: its tokens would be refused"
            )
        return self

    @property
    def body_limit(self) -> int:
        """The largest request body: the largest image and its multipart framing."""
        return self.max_image_bytes + MULTIPART_OVERHEAD

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0]

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])
