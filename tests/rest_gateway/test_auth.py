"""Tokens: what is accepted, every forgery that is refused, and settings that refuse to start."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from jose import jwt
from pydantic import ValidationError

from rest_gateway.settings import GatewaySettings
from tests.support.gateway import PASSWORD, GatewayThread
from tests.support.paths import ROOT


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(
    header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]
) -> str:
    """A token built by hand, as an attacker would, without any library's safety checks."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(sign(signing_input.encode()))}"


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "sub": "mallory",
        "iss": "imagescaler",
        "aud": "imagescaler",
        "iat": now,
        "exp": now + 600,
    }
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def idp_token(key_dir: Path, **changes: Any) -> str:
    return jwt.encode(claims(**changes), (key_dir / "idp.pem").read_text(), algorithm="RS256")


def status_with(gateway: GatewayThread, token: str | None) -> httpx.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    with gateway.client(headers=headers) as client:
        # No body: an accepted token gets as far as 415, a refused one stops at 401.
        return client.post("/v1/scale")


def test_token_from_the_password_flow_is_accepted(gateway: GatewayThread, token: str) -> None:
    assert status_with(gateway, token).status_code == 415


def test_identity_provider_token_is_accepted(gateway: GatewayThread, key_dir: Path) -> None:
    assert status_with(gateway, idp_token(key_dir)).status_code == 415


def forgeries(key_dir: Path, token: str) -> dict[str, str | None]:
    public_pem = (key_dir / "idp_public.pem").read_bytes()
    public_der = (key_dir / "idp_public.der").read_bytes()
    head, body, signature = token.split(".")
    tampered_claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    tampered_claims["sub"] = "admin"

    def hs256(key: bytes) -> Callable[[bytes], bytes]:
        return lambda data: hmac.new(key, data, hashlib.sha256).digest()

    return {
        "missing": None,
        "not a jwt": "not-a-token",
        "expired": idp_token(key_dir, exp=int(time.time()) - 120),
        "wrong audience": idp_token(key_dir, aud="someone-else"),
        "wrong issuer": idp_token(key_dir, iss="https://evil.example"),
        "no exp": idp_token(key_dir, exp=None),
        "no aud": idp_token(key_dir, aud=None),
        "no sub": idp_token(key_dir, sub=None),
        "alg none": hand_made({"alg": "none", "typ": "JWT"}, claims(), lambda _: b""),
        "tampered signature": f"{head}.{body}.{signature[:-4]}AAAA",
        "tampered claims": f"{head}.{b64(json.dumps(tampered_claims).encode())}.{signature}",
        "HS256 with the RSA public key (PEM)": hand_made(
            {"alg": "HS256"}, claims(), hs256(public_pem)
        ),
        "HS256 with the RSA public key (DER)": hand_made(
            {"alg": "HS256"}, claims(), hs256(public_der)
        ),
        "HS256 with an empty key": hand_made({"alg": "HS256"}, claims(), hs256(b"")),
    }


FORGERIES = [
    "missing",
    "not a jwt",
    "expired",
    "wrong audience",
    "wrong issuer",
    "no exp",
    "no aud",
    "no sub",
    "alg none",
    "tampered signature",
    "tampered claims",
    "HS256 with the RSA public key (PEM)",
    "HS256 with the RSA public key (DER)",
    "HS256 with an empty key",
]


@pytest.mark.parametrize("forgery", FORGERIES)
def test_forged_or_incomplete_tokens_are_refused(
    gateway: GatewayThread, key_dir: Path, token: str, forgery: str
) -> None:
    reply = status_with(gateway, forgeries(key_dir, token)[forgery])
    assert reply.status_code == 401, reply.text
    assert reply.headers["www-authenticate"] == "Bearer"
    assert reply.json()["error"] in {
        "missing_token",
        "malformed_token",
        "expired_token",
        "invalid_claims",
        "invalid_token",
        "unknown_key",
    }


def test_expired_within_the_clock_skew_is_still_accepted(
    gateway: GatewayThread, key_dir: Path
) -> None:
    assert status_with(gateway, idp_token(key_dir, exp=int(time.time()) - 10)).status_code == 415


def test_jwks_keys_are_chosen_by_kid(
    start_gateway: Callable[..., GatewayThread], key_dir: Path, tmp_path: Path
) -> None:
    from jose import jwk

    public = jwk.construct((key_dir / "idp_public.pem").read_text(), "RS256").to_dict()
    jwks = {"keys": [{**public, "kid": "idp-1", "use": "sig"}]}
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))
    gateway = start_gateway(jwt_public_keys_file=tmp_path / "jwks.json")
    private = (key_dir / "idp.pem").read_text()
    good = jwt.encode(claims(), private, algorithm="RS256", headers={"kid": "idp-1"})
    unknown = jwt.encode(claims(), private, algorithm="RS256", headers={"kid": "idp-2"})
    assert status_with(gateway, good).status_code == 415
    assert status_with(gateway, unknown).status_code == 401


def test_hs256_secret_tokens_are_accepted(start_gateway: Callable[..., GatewayThread]) -> None:
    secret = "s" * 32
    gateway = start_gateway(jwt_hs256_secret=secret, jwt_signing_key_file=None)
    assert status_with(gateway, jwt.encode(claims(), secret, algorithm="HS256")).status_code == 415
    assert (
        status_with(gateway, jwt.encode(claims(), "t" * 32, algorithm="HS256")).status_code == 401
    )


@pytest.mark.parametrize("secret", ["", "too-short", "x" * 31])
def test_short_or_empty_hmac_secret_refuses_to_start(secret: str) -> None:
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        GatewaySettings(jwt_hs256_secret=secret)
    result = subprocess.run(
        [sys.executable, "-m", "imagescaler", "gateway", "--jwt-hs256-secret", secret],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode != 0
    assert "--jwt-hs256-secret / IMAGESCALER_GATEWAY_JWT_HS256_SECRET" in result.stderr


def test_clock_skew_over_30_seconds_is_refused() -> None:
    with pytest.raises(ValidationError, match="jwt_clock_skew"):
        GatewaySettings(jwt_clock_skew=31)


def test_gateway_without_any_key_refuses_to_start() -> None:
    from rest_gateway.identity import NoTokenKeys, build_identity

    with pytest.raises(NoTokenKeys, match="no way to verify tokens"):
        build_identity(GatewaySettings())


def test_wrong_password_and_unknown_user_are_401(gateway: GatewayThread) -> None:
    with gateway.client() as client:
        for username, password in (("alice", "wrong"), ("nobody", PASSWORD)):
            reply = client.post("/v1/token", data={"username": username, "password": password})
            assert reply.status_code == 401
            assert reply.json()["error"] == "invalid_credentials"


def test_token_response_follows_the_oauth2_convention(gateway: GatewayThread) -> None:
    with gateway.client() as client:
        reply = client.post("/v1/token", data={"username": "alice", "password": PASSWORD})
    body = reply.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    decoded = jwt.get_unverified_claims(body["access_token"])
    assert decoded["sub"] == "alice" and decoded["exp"] - decoded["iat"] == 3600


def test_token_command_issues_tokens_the_gateway_accepts(
    start_gateway: Callable[..., GatewayThread], tmp_path: Path
) -> None:
    state = tmp_path / "dev-state.json"
    gateway = start_gateway(dev_state_file=state, jwt_signing_key_file=None, users_file=None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "imagescaler",
            "token",
            "--sub",
            "script",
            "--dev-state-file",
            str(state),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        cwd=ROOT,
    )
    assert status_with(gateway, result.stdout.strip()).status_code == 415
    dev = json.loads(state.read_text())
    with gateway.client() as client:
        reply = client.post(
            "/v1/token", data={"username": dev["username"], "password": dev["password"]}
        )
    assert reply.status_code == 200


def test_the_library_defaults_really_accept_these_forgeries(key_dir: Path, token: str) -> None:
    """The holes our configuration closes are real in python-jose 3.5.0's defaults."""
    forged = forgeries(key_dir, token)
    public_der = (key_dir / "idp_public.der").read_bytes()
    naive = jwt.decode(
        forged["HS256 with the RSA public key (DER)"],
        public_der,
        algorithms=["HS256", "RS256"],
        options={"verify_aud": False},
    )
    assert naive["sub"] == "mallory"
    no_exp = jwt.decode(
        forged["no exp"],
        (key_dir / "idp_public.pem").read_text(),
        algorithms=["RS256"],
        audience="imagescaler",
    )
    assert "exp" not in no_exp


def test_users_from_the_environment_can_sign_in(
    start_gateway: Callable[..., GatewayThread], monkeypatch: pytest.MonkeyPatch
) -> None:
    from rest_gateway.users import hash_password

    monkeypatch.setenv("IMAGESCALER_GATEWAY_USERS", f"bob:{hash_password('pw-of-bob')}")
    gateway = start_gateway(users_file=None)
    with gateway.client() as client:
        good = client.post("/v1/token", data={"username": "bob", "password": "pw-of-bob"})
        bad = client.post("/v1/token", data={"username": "bob", "password": "nope"})
    assert good.status_code == 200 and bad.status_code == 401


def test_malformed_users_refuse_to_start() -> None:
    with pytest.raises(ValidationError, match="expected name:scrypt"):
        GatewaySettings(users="bob:plaintext")


def rs256(key_dir: Path) -> Callable[[bytes], bytes]:
    """Signs with the identity provider's own key: only the claims are hostile."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    private = serialization.load_pem_private_key((key_dir / "idp.pem").read_bytes(), None)

    def sign(data: bytes) -> bytes:
        return private.sign(data, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr,call-arg,arg-type]

    return sign


def raw_claims(text: str) -> str:
    """Claims whose JSON text is given as is (JSON numbers such as 1e400 that no encoder writes)."""
    header = b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    return f"{header}.{b64(text.encode())}"


@pytest.mark.parametrize(
    ("how", "says"),
    [
        ("exp 1e400", "not a finite number"),
        ("exp as a string", "not a finite number"),
        ("exp in 9999", "lives longer than 86400 s"),
        ("iat ten years ahead", "issued in the future"),
        ("a 10 kB subject", "over 256 characters"),
        ("a crit header", "extensions this service does not know"),
    ],
)
def test_claims_jose_would_let_through_are_refused(
    gateway: GatewayThread, key_dir: Path, how: str, says: str
) -> None:
    now = int(time.time())
    sign = rs256(key_dir)
    base = '"sub": "mallory", "iss": "imagescaler", "aud": "imagescaler"'
    if how == "exp 1e400":
        signing_input = raw_claims(f'{{{base}, "iat": {now}, "exp": 1e400}}')
        token = f"{signing_input}.{b64(sign(signing_input.encode()))}"
    elif how == "a crit header":
        token = hand_made({"alg": "RS256", "crit": ["exp-ext"], "exp-ext": 1}, claims(), sign)
    else:
        changes: dict[str, Any] = {
            "exp as a string": {"exp": str(now + 600)},
            "exp in 9999": {"exp": 253402300799, "iat": now},
            "iat ten years ahead": {
                "iat": now + 10 * 365 * 86400,
                "exp": now + 10 * 365 * 86400 + 60,
            },
            "a 10 kB subject": {"sub": "m" * 10_000},
        }[how]
        token = hand_made({"alg": "RS256", "typ": "JWT"}, claims(**changes), sign)
    reply = status_with(gateway, token)
    assert reply.status_code == 401, (how, reply.status_code, reply.text)
    assert says in reply.json()["detail"]


def test_an_audience_list_that_names_ours_is_accepted(
    gateway: GatewayThread, key_dir: Path
) -> None:
    """RFC 7519 4.1.3: aud may be a list; the token is for us if ours is in it."""
    token = idp_token(key_dir, aud=["someone-else", "imagescaler"])
    assert status_with(gateway, token).status_code == 415  # accepted, then no body


def test_a_ttl_longer_than_the_max_lifetime_refuses_to_start() -> None:
    with pytest.raises(ValidationError, match="token_ttl is longer than jwt_max_lifetime"):
        GatewaySettings(jwt_hs256_secret="s" * 32, token_ttl=7200, jwt_max_lifetime=3600)
