"""The `imagescaler` command: one entry point with a subcommand per job.

Building the parser imports only argparse and the settings classes (pydantic). Each
subcommand's module is imported when that subcommand runs, so `imagescaler gateway` never
imports what `imagescaler bench` needs, and `--help` works for every subcommand whatever
is installed."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic_settings import BaseSettings

from grpc_api.settings import ApiSettings
from image_service.settings import ImageServiceSettings
from imagescaler.cli.batch.arguments import batch_arguments
from imagescaler.cli.process_death import stop_with_parent_if_asked
from imagescaler.cli.profiles.arguments import profiles_arguments
from imagescaler.cli.remote_api import add_remote_arguments
from imagescaler.cli.settings_flags import add_settings_flags, settings_from_args
from imagescaler.runtime.settings import API_PORT, GATEWAY_PORT, loopback
from rest_gateway.settings import GatewaySettings


def up_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--prometheus", action="store_true", help="also run Prometheus, if installed"
    )
    parser.add_argument("--prometheus-listen", default="127.0.0.1:9090", help="Prometheus address")
    parser.add_argument(
        "--rate-limit", help="the gateway's requests per user, e.g. 1000/minute (for load runs)"
    )


def client_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", type=Path, help="image file to send")
    parser.add_argument("--url", help="http(s) URL for the API to download instead of a file")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help="where to write the result (default: out.jpg, or out.npy / out.png / out.webp "
        "for what a profile gives)",
    )
    parser.add_argument(
        "--profile",
        help="a profile of the API's (see --list-profiles): the image or tensor (.npy) it "
        "gives, and its geometry printed; without it, the original scaling (ScaleImage)",
    )
    parser.add_argument(
        "--list-profiles", action="store_true", help="print the API's profiles and stop"
    )
    parser.add_argument("--server", default=loopback(API_PORT), help="API address, host:port")
    add_remote_arguments(parser)
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for the answer"
    )


TOKEN_SETTINGS = frozenset(
    {"jwt_signing_key_file", "jwt_hs256_secret", "dev_state_file", "jwt_issuer",
     "jwt_audience", "token_ttl"}
)  # fmt: skip


def token_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sub", required=True, help="the token's subject (user or service name)")
    add_settings_flags(parser, GatewaySettings, only=TOKEN_SETTINGS)


def probe_arguments(parser: argparse.ArgumentParser) -> None:
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--grpc", metavar="HOST:PORT", help="ask grpc.health.v1 at this address")
    kind.add_argument("--http", metavar="URL", help="GET this URL and expect 200")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for an answer")


def load_arguments(parser: argparse.ArgumentParser) -> None:
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--grpc", metavar="HOST:PORT", help="the ImageScaler API")
    target.add_argument(
        "--rest", metavar="URL", help=f"the REST gateway, e.g. http://{loopback(GATEWAY_PORT)}"
    )
    parser.add_argument(
        "--token",
        help="bearer token for --rest (default: `imagescaler token`), or for --grpc when the API "
        "asks for one",
    )
    parser.add_argument(
        "--image",
        type=Path,
        action="append",
        help="image to send (repeatable; default: the shared phone photo)",
    )
    level = parser.add_mutually_exclusive_group()
    level.add_argument("--concurrency", type=float, default=4, help="peak concurrent requests")
    level.add_argument("--rate", type=float, help="peak requests per second (open loop)")
    parser.add_argument("--warmup", type=float, default=10, help="seconds at level 1")
    parser.add_argument("--ramp-up", type=float, default=30, help="seconds to reach the peak")
    parser.add_argument("--hold", type=float, default=60, help="seconds at the peak")
    parser.add_argument("--ramp-down", type=float, default=20, help="seconds back down")
    parser.add_argument("--plot", type=Path, default=Path("load.png"), help="PNG of the run")
    parser.add_argument("--json", type=Path, help="write the report as JSON here too")
    parser.add_argument(
        "--max-error-ratio",
        type=float,
        default=0.01,
        help="exit 1 when more than this fraction of the requests failed",
    )


def bench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="small inputs and short runs (tests)")
    parser.add_argument("--seconds", type=float, help="length of each end-to-end run")
    parser.add_argument("--memory-seconds", type=float, help="length of the memory run (soak)")
    parser.add_argument("--no-thumbor", action="store_true", help="skip thumbor")
    parser.add_argument(
        "--shared", type=Path, default=Path("../shared/images"), help="image folder"
    )
    parser.add_argument(
        "--json", type=Path, default=Path(".bench/results.json"), help="JSON output"
    )


def no_arguments(parser: argparse.ArgumentParser) -> None:
    """A subcommand that takes no arguments."""


class HelpWithDefaults(argparse.HelpFormatter):
    """Shows an option's default when it has a real one (not None, not a switch)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            default in (None, False, argparse.SUPPRESS)
            or "default" in text
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)"


@dataclass(frozen=True)
class Command:
    """A subcommand: its flags, and the function that runs it, named as "module:function"."""

    name: str
    help: str
    target: str
    arguments: Callable[[argparse.ArgumentParser], None] = no_arguments
    settings: type[BaseSettings] | None = None  # the target takes these settings, not args


COMMANDS = (
    Command("up", "run the whole system locally", "imagescaler.cli.local_system:run", up_arguments),
    Command(
        "image-service",
        "run the image service (gRPC)",
        "image_service.server:main",
        settings=ImageServiceSettings,
    ),
    Command("api", "run the ImageScaler API (gRPC)", "grpc_api.server:main", settings=ApiSettings),
    Command(
        "gateway", "run the REST gateway (HTTP)", "rest_gateway.main:main", settings=GatewaySettings
    ),
    Command(
        "client", "send an image to the API", "imagescaler.cli.scale_client:run", client_arguments
    ),
    Command(
        "token",
        "print a token the gateway accepts",
        "imagescaler.cli.accounts:print_token",
        token_arguments,
    ),
    Command(
        "hash-password",
        "hash a password (read from standard input) for the gateway's users",
        "imagescaler.cli.accounts:print_password_hash",
    ),
    Command(
        "probe", "exit 0 when a service is ready", "imagescaler.cli.probe:run", probe_arguments
    ),
    Command(
        "load",
        "drive the API or the gateway through a load profile",
        "imagescaler.cli.load.command:run",
        load_arguments,
    ),
    Command(
        "batch",
        "preprocess a dataset into WebDataset shards, resumably",
        "imagescaler.cli.batch.command:run",
        batch_arguments,
    ),
    Command(
        "profiles",
        "list profiles; import, export and check them against Hugging Face processors",
        "imagescaler.cli.profiles.command:run",
        profiles_arguments,
    ),
    Command(
        "bench",
        "measure speed and memory against the floor and peers",
        "imagescaler.cli.bench.command:run",
        bench_arguments,
    ),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imagescaler", description=__doc__.splitlines()[0])
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        sub = subcommands.add_parser(
            command.name,
            help=command.help,
            description=command.help,
            formatter_class=HelpWithDefaults,
        )
        if command.settings is not None:
            add_settings_flags(sub, command.settings)
        command.arguments(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    stop_with_parent_if_asked()
    args = build_parser().parse_args(argv)
    command = next(c for c in COMMANDS if c.name == args.command)
    module, _, function = command.target.partition(":")
    handler = getattr(importlib.import_module(module), function)
    if command.settings is not None:
        handler(settings_from_args(command.settings, args))
        return 0
    result: int = handler(args)
    return result
