"""`imagescaler token` and `imagescaler hash-password`: credentials for the gateway."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from imagescaler.cli.settings_flags import settings_from_args
from rest_gateway import dev_state
from rest_gateway.identity import NoTokenKeys, token_issuer
from rest_gateway.settings import GatewaySettings
from rest_gateway.users import hash_password


def print_token(args: argparse.Namespace) -> int:
    """Print a token signed with the gateway's key (beside `make run`, the dev key)."""
    settings = settings_from_args(GatewaySettings, args)
    no_key = settings.jwt_signing_key_file is None and settings.jwt_hs256_secret is None
    if no_key and settings.dev_state_file is None and Path(dev_state.DEFAULT_PATH).exists():
        settings = settings.model_copy(update={"dev_state_file": dev_state.DEFAULT_PATH})
    try:
        print(token_issuer(settings).issue(args.sub).access_token)
    except NoTokenKeys as error:
        print(f"cannot issue a token: {error}", file=sys.stderr)
        return 2
    return 0


def print_password_hash(args: argparse.Namespace) -> int:
    """Read a password (prompted on a terminal, else one line of standard input); print its hash."""
    interactive = sys.stdin.isatty()
    password = getpass.getpass("password: ") if interactive else sys.stdin.readline().rstrip("\n")
    print(hash_password(password))
    return 0
