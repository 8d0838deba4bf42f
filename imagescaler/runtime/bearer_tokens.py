"""Every line of JWT code, for the gateway and the gRPC API alike: loading keys, issuing tokens
and verifying them (python-jose).

python-jose 3.5.0 accepts forged tokens under its defaults; each hole is closed here:
- algorithm confusion (HS256 signed with an RSA public key, PEM or DER): every key has
  exactly one algorithm, the key object is built for it, and decode() is given only it;
- an empty or short HMAC key: refused by the settings (at least 32 bytes);
- missing `exp`, `sub`, `aud` or `iss`: required through decode()'s options;
- `alg: none`: never among a key's algorithms;
- NumericDates that are strings (jose converts them with int()) or not finite (an infinite
  `exp` made jose raise OverflowError: a 500): refused as invalid claims;
- a `crit` header: no extension is understood here, so RFC 7515 4.1.11 says refuse it;
- tokens that live longer than max_lifetime, or were issued in the future; a subject over
  MAX_SUBJECT characters (rate limits key on it).
An `aud` list that contains ours is accepted, as RFC 7519 4.1.3 allows.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import jwk, jwt
from jose.exceptions import ExpiredSignatureError, JOSEError, JWTClaimsError

ASYMMETRIC_ALGORITHMS = {"RSA": "RS256", "EC": "ES256"}
MAX_SUBJECT = 256
DATE_CLAIMS = ("exp", "iat", "nbf")


class AuthError(Exception):
    """A token was missing or refused; `reason` is a short slug for metrics and the error body."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class VerificationKey:
    kid: str | None
    algorithm: str
    key: Any  # a jose Key built for `algorithm`


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str
    key: Any  # a jose Key (private) or the HMAC secret bytes
    public: VerificationKey


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int


class TokenVerifier:
    """Checks signature, algorithm, expiry, audience, issuer and subject of bearer tokens."""

    def __init__(
        self,
        keys: list[VerificationKey],
        issuer: str,
        audience: str,
        clock_skew: int,
        max_lifetime: int = 86400,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._clock_skew = clock_skew
        self._max_lifetime = max_lifetime
        self._options = {
            "require_exp": True,
            "require_sub": True,
            "require_aud": True,
            "require_iss": True,
            "leeway": clock_skew,
        }

    def verify(self, token: str) -> str:
        """The token's subject, or AuthError saying why the token is refused."""
        key = self._key_for(token)
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm],
                audience=self._audience,
                issuer=self._issuer,
                options=self._options,
            )
        except ExpiredSignatureError:
            raise AuthError("expired_token", "the token has expired; sign in again") from None
        except JWTClaimsError as error:
            raise AuthError(
                "invalid_claims", f"the token's claims are not accepted: {error}"
            ) from None
        except JOSEError as error:
            raise AuthError("invalid_token", f"the token is not valid: {error}") from None
        except (OverflowError, ValueError, TypeError):
            raise AuthError(
                "invalid_claims", "a date claim of the token is not a finite number"
            ) from None
        return self._check_claims(claims)

    def _check_claims(self, claims: dict[str, Any], now: float | None = None) -> str:
        """What jose does not check: numeric dates, lifetime, issue time, subject length."""
        for name in DATE_CLAIMS:
            value = claims.get(name)
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            if value is not None and not (numeric and math.isfinite(value)):
                raise AuthError("invalid_claims", f"the token's {name} is not a finite number")
        now = time.time() if now is None else now
        issued, expires = claims.get("iat"), float(claims["exp"])
        if issued is not None and issued > now + self._clock_skew:
            raise AuthError("invalid_claims", "the token was issued in the future")
        if expires - (issued if issued is not None else now) > self._max_lifetime:
            raise AuthError("invalid_claims", f"the token lives longer than {self._max_lifetime} s")
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise AuthError("invalid_claims", "the token has no subject")
        if len(subject) > MAX_SUBJECT:
            raise AuthError(
                "invalid_claims", f"the token's subject is over {MAX_SUBJECT} characters"
            )
        return subject

    def _key_for(self, token: str) -> VerificationKey:
        try:
            header = jwt.get_unverified_header(token)
        except JOSEError:
            raise AuthError("malformed_token", "the bearer token is not a JWT") from None
        if "crit" in header:
            raise AuthError(
                "invalid_token", "the token needs extensions this service does not know"
            )
        algorithm, kid = header.get("alg"), header.get("kid")
        for key in self._keys:
            if key.algorithm == algorithm and (kid is None or key.kid is None or key.kid == kid):
                return key
        raise AuthError(
            "unknown_key", f"no key accepts tokens with alg {algorithm!r} and kid {kid!r}"
        )


class TokenIssuer:
    """Issues tokens for users who signed in here."""

    def __init__(self, key: SigningKey, issuer: str, audience: str, ttl: int) -> None:
        self._key = key
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl

    def issue(self, subject: str, now: float | None = None) -> IssuedToken:
        issued_at = int(time.time() if now is None else now)
        claims = {
            "sub": subject,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": issued_at,
            "nbf": issued_at,
            "exp": issued_at + self._ttl,
        }
        headers = {"kid": self._key.kid}
        token = jwt.encode(claims, self._key.key, algorithm=self._key.algorithm, headers=headers)
        return IssuedToken(token, self._ttl)


def signing_key_from_pem(pem: bytes, kid: str | None = None) -> SigningKey:
    """An RS256 or ES256 signing key from a PEM private key; kid defaults to a thumbprint."""
    private = serialization.load_pem_private_key(pem, password=None)
    algorithm = _algorithm_of(private.public_key())
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    kid = kid or hashlib.sha256(public_pem).hexdigest()[:16]
    public = VerificationKey(kid, algorithm, jwk.construct(public_pem, algorithm))
    return SigningKey(kid, algorithm, jwk.construct(pem, algorithm), public)


def hmac_signing_key(secret: bytes) -> SigningKey:
    public = VerificationKey("hs256", "HS256", jwk.construct(secret, "HS256"))
    return SigningKey("hs256", "HS256", secret, public)


def load_public_keys(path: Path) -> list[VerificationKey]:
    """Keys of an identity provider: one PEM public key, or a JWKS file chosen by kid."""
    data = path.read_bytes()
    if data.lstrip().startswith(b"{"):
        return [_key_from_jwk(entry) for entry in json.loads(data).get("keys", [])]
    public = serialization.load_pem_public_key(data)
    algorithm = _algorithm_of(public)
    return [VerificationKey(None, algorithm, jwk.construct(data, algorithm))]


def new_dev_signing_pem() -> bytes:
    """A fresh EC P-256 private key in PEM, for local development."""
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _key_from_jwk(entry: dict[str, Any]) -> VerificationKey:
    kty = entry.get("kty")
    if kty not in ASYMMETRIC_ALGORITHMS:
        raise ValueError(f"JWKS key {entry.get('kid')!r} has kty {kty!r}; only RSA and EC keys")
    algorithm = entry.get("alg") or ASYMMETRIC_ALGORITHMS[kty]
    if algorithm != ASYMMETRIC_ALGORITHMS[kty]:
        raise ValueError(f"JWKS key {entry.get('kid')!r}: alg {algorithm} does not fit kty {kty}")
    return VerificationKey(entry.get("kid"), algorithm, jwk.construct(entry, algorithm))


def _algorithm_of(public: Any) -> str:
    if isinstance(public, rsa.RSAPublicKey):
        return "RS256"
    if isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1):
        return "ES256"
    raise ValueError("only RSA and EC P-256 keys are supported")
