"""Local development state: a signing key and a dev user, made on first run, kept out of git."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from imagescaler.runtime.bearer_tokens import new_dev_signing_pem
from rest_gateway.users import hash_password

DEFAULT_PATH = Path(".imagescaler") / "dev-state.json"


@dataclass(frozen=True)
class DevState:
    signing_key_pem: bytes
    username: str
    password: str
    password_hash: str


def load_or_create(path: Path = DEFAULT_PATH) -> DevState:
    if path.exists():
        data = json.loads(path.read_text())
        return DevState(
            data["signing_key_pem"].encode(),
            data["username"],
            data["password"],
            data["password_hash"],
        )
    password = secrets.token_urlsafe(12)
    state = DevState(new_dev_signing_pem(), "dev", password, hash_password(password))
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / ".gitignore").write_text("*\n")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(
            {
                "signing_key_pem": state.signing_key_pem.decode(),
                "username": state.username,
                "password": state.password,
                "password_hash": state.password_hash,
            },
            handle,
            indent=2,
        )
    return state
