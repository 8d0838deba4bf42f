"""The `imagescaler` command: one entry point with a subcommand per job."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from pathlib import Path

from grpc_api.settings import ApiSettings
from image_service.settings import ImageServiceSettings
from imagescaler import client, local_run, probe
from imagescaler.load import command as load_command
from imagescaler.settings_cli import add_settings_flags, settings_from_args
from rest_gateway.settings import GatewaySettings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imagescaler", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    up = commands.add_parser("up", help="run the whole system locally with embedded defaults")
    up.add_argument("--prometheus", action="store_true", help="also run Prometheus, if installed")
    up.add_argument("--prometheus-listen", default="127.0.0.1:9090", help="Prometheus address")
    add_settings_flags(
        commands.add_parser("image-service", help="run the image service (gRPC)"),
        ImageServiceSettings,
    )
    add_settings_flags(
        commands.add_parser("api", help="run the ImageScaler API (gRPC)"), ApiSettings
    )
    add_settings_flags(
        commands.add_parser("gateway", help="run the REST gateway (HTTP)"), GatewaySettings
    )
    client.add_arguments(commands.add_parser("client", help="send an image to the API"))
    token = commands.add_parser("token", help="print a token the gateway accepts")
    token.add_argument("--sub", required=True, help="the token's subject (user or service name)")
    add_settings_flags(token, GatewaySettings)
    commands.add_parser("hash-password", help="hash a password for the gateway's users file")
    probe.add_arguments(commands.add_parser("probe", help="exit 0 when a service is ready"))
    load_command.add_arguments(
        commands.add_parser("load", help="drive the API or the gateway through a load profile")
    )
    bench = commands.add_parser(
        "bench", help="measure speed and memory against the floor and peers"
    )
    bench.add_argument("--quick", action="store_true", help="small inputs and short runs (tests)")
    bench.add_argument("--seconds", type=float, help="length of each end-to-end run")
    bench.add_argument("--memory-seconds", type=float, help="length of the memory run (soak)")
    bench.add_argument("--no-thumbor", action="store_true", help="skip thumbor")
    bench.add_argument("--shared", type=Path, default=Path("../shared/images"), help="image folder")
    bench.add_argument("--json", type=Path, default=Path(".bench/results.json"), help="JSON output")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = COMMANDS[args.command]
    return handler(args)


def run_up(args: argparse.Namespace) -> int:
    return local_run.run(args.prometheus, args.prometheus_listen)


def run_image_service(args: argparse.Namespace) -> int:
    from image_service import server as image_server

    image_server.main(settings_from_args(ImageServiceSettings, args))
    return 0


def run_api(args: argparse.Namespace) -> int:
    from grpc_api import server as api_server

    api_server.main(settings_from_args(ApiSettings, args))
    return 0


def run_gateway(args: argparse.Namespace) -> int:
    from rest_gateway import main as gateway

    gateway.main(settings_from_args(GatewaySettings, args))
    return 0


def run_hash_password(args: argparse.Namespace) -> int:
    from rest_gateway.users import hash_password

    interactive = sys.stdin.isatty()
    password = getpass.getpass("password: ") if interactive else sys.stdin.readline().rstrip("\n")
    print(hash_password(password))
    return 0


def run_bench(args: argparse.Namespace) -> int:
    from imagescaler.bench.runner import BenchConfig, run

    quick = bool(args.quick)
    config = BenchConfig(
        quick=quick,
        seconds=args.seconds or (1.0 if quick else 10.0),
        memory_seconds=args.memory_seconds or (2.0 if quick else 60.0),
        concurrencies=(1, 2) if quick else (1, 2, 4),
        repeats=3 if quick else 15,
        thumbor=not args.no_thumbor,
        shared=args.shared,
        json_path=args.json,
    )
    run(config)
    return 0


def print_token(args: argparse.Namespace) -> int:
    from rest_gateway import dev_state
    from rest_gateway.identity import NoTokenKeys, token_issuer

    settings = settings_from_args(GatewaySettings, args)
    no_key = settings.jwt_signing_key_file is None and settings.jwt_hs256_secret is None
    if no_key and settings.dev_state_file is None and Path(dev_state.DEFAULT_PATH).exists():
        # Beside `make run`: use the key the local gateway was started with.
        settings = settings.model_copy(update={"dev_state_file": dev_state.DEFAULT_PATH})
    try:
        print(token_issuer(settings).issue(args.sub).access_token)
    except NoTokenKeys as error:
        print(f"cannot issue a token: {error}", file=sys.stderr)
        return 2
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "up": run_up,
    "image-service": run_image_service,
    "api": run_api,
    "gateway": run_gateway,
    "client": client.run,
    "token": print_token,
    "hash-password": run_hash_password,
    "bench": run_bench,
    "probe": probe.run,
    "load": load_command.run,
}
