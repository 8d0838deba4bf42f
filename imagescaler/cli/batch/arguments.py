"""`imagescaler batch`'s command line (built by the parser of every command, so nothing heavy
is imported here)."""

from __future__ import annotations

import argparse
from pathlib import Path

from imagescaler.cli.remote_api import add_remote_arguments


def batch_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source", help="a folder (read recursively), a glob, or a .jsonl/.csv manifest"
    )
    parser.add_argument("--profile", required=True, help="the profile every image goes through")
    parser.add_argument(
        "--out", required=True, help="folder, or s3://BUCKET/PREFIX/, of shards and index"
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--local", action="store_true", help="run the library here, on every core")
    where.add_argument("--server", metavar="HOST:PORT", help="stream through a deployment's API")
    where.add_argument(
        "--engine",
        choices=("dask",),
        help="run the library as tasks on a distributed engine: dask (a local cluster of "
        "worker processes, or the cluster of --scheduler)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="with --engine dask: the running cluster's scheduler (default: a local cluster)",
    )
    add_remote_arguments(parser)
    parser.add_argument(
        "--concurrency",
        type=int,
        help="local: worker threads (cores); server: streams (2); dask: a local cluster's "
        "worker processes (cores)",
    )
    parser.add_argument(
        "--shard-size", type=int, default=1000, help="most samples per shard (default 1000)"
    )
    parser.add_argument(
        "--shard-bytes",
        default="256MiB",
        help="most bytes per shard, such as 256MiB or 1GB; a shard closes at whichever "
        "limit comes first (default 256MiB)",
    )
    parser.add_argument(
        "--store",
        choices=("levels", "tensor"),
        help="tensor profiles: store uint8 levels and normalise when loading (default), or "
        "the finished tensor",
    )
    parser.add_argument(
        "--labels-from-folders",
        action="store_true",
        help="the first folder under SOURCE is each image's class (SOURCE/CLASS/...), as "
        "torchvision's ImageFolder reads it; classes.json maps them to indices",
    )
    parser.add_argument(
        "--root",
        type=Path,
        help="a manifest's paths must be inside this folder (default: the manifest's folder)",
    )
    parser.add_argument(
        "--allow-private-urls",
        action="store_true",
        help="local runs: let manifest URLs reach private and loopback addresses",
    )
    parser.add_argument(
        "--s3-endpoint",
        metavar="URL",
        help="an S3-compatible store's endpoint for s3:// sources and --out (default: AWS, "
        "or $AWS_ENDPOINT_URL); credentials and region come from the usual AWS settings",
    )
    parser.add_argument(
        "--staging",
        type=Path,
        help="with an s3:// --out: the local folder shards are assembled in before upload "
        "(default: one per output under ~/.cache/imagescaler/batch)",
    )
    parser.add_argument(
        "--profiles-file",
        type=Path,
        help="more profiles (TOML), with --local; a server has its own",
    )
