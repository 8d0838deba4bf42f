"""How a command reaches a deployment's API: over TLS when it sits behind a TLS front (an
Ingress), and with the bearer token it asks for, read from --token-file or the file
$IMAGESCALER_TOKEN_FILE names (a file, not the command line, where other users could read it
in the process list)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import grpc

TOKEN_FILE_VARIABLE = "IMAGESCALER_TOKEN_FILE"  # noqa: S105 (a variable's name)


class TokenFileError(Exception):
    """The token file cannot be used; the message says why."""


def add_remote_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tls",
        action="store_true",
        help="speak TLS to the server (an Ingress in front of the API); the roots are "
        "gRPC's, or $GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        help="file holding a bearer token, for an API that asks for one (`imagescaler token`, "
        f"or your identity provider's); default ${TOKEN_FILE_VARIABLE}",
    )


def read_token(path: Path | None) -> str | None:
    """The token in `path`, or in the file $IMAGESCALER_TOKEN_FILE names (surrounding
    whitespace dropped); None without either."""
    if path is None:
        named = os.environ.get(TOKEN_FILE_VARIABLE)
        if not named:
            return None
        path = Path(named)
    try:
        token = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not ASCII text"
        raise TokenFileError(f"cannot read the token file {path}: {reason}") from None
    if not token or any(c.isspace() for c in token):
        raise TokenFileError(f"the token file {path} does not hold one token")
    return token


def open_channel(target: str, tls: bool, options: Sequence[tuple[str, Any]] = ()) -> grpc.Channel:
    """A channel to the API: TLS-checked (the server's name against its certificate) or
    plain. (gRPC is imported here: the command line starts without it.)"""
    import grpc

    if tls:
        return grpc.secure_channel(target, grpc.ssl_channel_credentials(), options=options)
    return grpc.insecure_channel(target, options=options)
