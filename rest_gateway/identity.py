"""Who can sign in and which tokens are believed, assembled from the gateway's settings."""

from __future__ import annotations

from dataclasses import dataclass

from imagescaler.runtime.bearer_tokens import (
    SigningKey,
    TokenIssuer,
    TokenVerifier,
    VerificationKey,
    hmac_signing_key,
    load_public_keys,
    signing_key_from_pem,
)
from rest_gateway import dev_state
from rest_gateway.settings import GatewaySettings
from rest_gateway.users import UserStore, load_users


@dataclass(frozen=True)
class Identity:
    verifier: TokenVerifier
    issuer: TokenIssuer | None  # None: tokens come from an external identity provider only
    users: UserStore


class NoTokenKeys(ValueError):
    pass


def build_identity(settings: GatewaySettings) -> Identity:
    signing, hashes = _signing_key_and_users(settings)
    keys: list[VerificationKey] = [signing.public] if signing else []
    if settings.jwt_hs256_secret is not None and (signing is None or signing.algorithm != "HS256"):
        keys.append(hmac_signing_key(settings.jwt_hs256_secret.get_secret_value().encode()).public)
    if settings.jwt_public_keys_file is not None:
        keys += load_public_keys(settings.jwt_public_keys_file)
    if not keys:
        raise NoTokenKeys(
            "no way to verify tokens: set --jwt-signing-key-file, --jwt-hs256-secret, "
            "--jwt-public-keys-file or --dev-state-file"
        )
    verifier = TokenVerifier(
        keys,
        settings.jwt_issuer,
        settings.jwt_audience,
        settings.jwt_clock_skew,
        settings.jwt_max_lifetime,
    )
    issuer = None
    if signing is not None:
        issuer = TokenIssuer(
            signing, settings.jwt_issuer, settings.jwt_audience, settings.token_ttl
        )
    return Identity(verifier, issuer, UserStore(hashes))


def token_issuer(settings: GatewaySettings) -> TokenIssuer:
    """The issuer `imagescaler token` uses: the gateway's own signing key."""
    issuer = build_identity(settings).issuer
    if issuer is None:
        raise NoTokenKeys("this gateway does not issue tokens: it has no signing key")
    return issuer


def _signing_key_and_users(settings: GatewaySettings) -> tuple[SigningKey | None, dict[str, str]]:
    signing: SigningKey | None = None
    hashes: dict[str, str] = {}
    if settings.dev_state_file is not None:
        state = dev_state.load_or_create(settings.dev_state_file)
        signing = signing_key_from_pem(state.signing_key_pem)
        hashes[state.username] = state.password_hash
    if settings.jwt_signing_key_file is not None:
        signing = signing_key_from_pem(settings.jwt_signing_key_file.read_bytes())
    elif settings.jwt_hs256_secret is not None and signing is None:
        signing = hmac_signing_key(settings.jwt_hs256_secret.get_secret_value().encode())
    if settings.users_file is not None:
        hashes.update(load_users(settings.users_file))
    for entry in settings.users:
        name, _, password_hash = entry.partition(":")
        hashes[name] = password_hash
    return signing, hashes
