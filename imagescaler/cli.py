"""The `imagescaler` command: one entry point with a subcommand per job."""

from __future__ import annotations

import argparse

from grpc_api.settings import ApiSettings
from image_service.settings import ImageServiceSettings
from imagescaler import client, local_run
from imagescaler.settings_cli import add_settings_flags, settings_from_args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imagescaler", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("up", help="run the whole system locally with embedded defaults")
    image = commands.add_parser("image-service", help="run the image service (gRPC)")
    add_settings_flags(image, ImageServiceSettings)
    api = commands.add_parser("api", help="run the ImageScaler API (gRPC)")
    add_settings_flags(api, ApiSettings)
    client.add_arguments(commands.add_parser("client", help="send an image to the API"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "up":
        return local_run.run()
    if args.command == "image-service":
        from image_service import server as image_server

        image_server.main(settings_from_args(ImageServiceSettings, args))
        return 0
    if args.command == "api":
        from grpc_api import server as api_server

        api_server.main(settings_from_args(ApiSettings, args))
        return 0
    return client.run(args)
