"""Users who may sign in here, with salted scrypt password hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from pathlib import Path

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
# Checked when the user is unknown, so a wrong name costs the same time as a wrong password.
_DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 43 + "="


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    encoded = [base64.b64encode(part).decode() for part in (salt, digest)]
    return "$".join(["scrypt", str(_SCRYPT["n"]), str(_SCRYPT["r"]), str(_SCRYPT["p"]), *encoded])


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


class UserStore:
    def __init__(self, password_hashes: dict[str, str]) -> None:
        self._hashes = dict(password_hashes)

    def __bool__(self) -> bool:
        return bool(self._hashes)

    def authenticate(self, username: str, password: str) -> bool:
        """Slow on purpose (scrypt): call it off the event loop."""
        stored = self._hashes.get(username)
        matches = verify_password(password, stored or _DUMMY_HASH)
        return stored is not None and matches


def load_users(path: Path) -> dict[str, str]:
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"{path} must hold a JSON object of user name to password hash")
    return data
