"""The `imagescaler load` command: arguments, the run, the report, the plot and the JSON."""

from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path

from imagescaler.bench import targets
from imagescaler.load.plot import plot
from imagescaler.load.profile import Profile
from imagescaler.load.recorder import Recorder, report_text, summarise
from imagescaler.load.runner import run_concurrency, run_rate, show_progress


def add_arguments(parser: argparse.ArgumentParser) -> None:
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--grpc", metavar="HOST:PORT", help="the ImageScaler API")
    target.add_argument(
        "--rest", metavar="URL", help="the REST gateway, e.g. http://127.0.0.1:8000"
    )
    parser.add_argument("--token", help="bearer token for --rest (default: `imagescaler token`)")
    parser.add_argument("--image", type=Path, action="append", help="image to send (repeatable)")
    level = parser.add_mutually_exclusive_group()
    level.add_argument("--concurrency", type=float, default=4, help="peak concurrent requests")
    level.add_argument("--rate", type=float, help="peak requests per second (open loop)")
    parser.add_argument("--warmup", type=float, default=10, help="seconds at level 1")
    parser.add_argument("--ramp-up", type=float, default=30, help="seconds to reach the peak")
    parser.add_argument("--hold", type=float, default=60, help="seconds at the peak")
    parser.add_argument("--ramp-down", type=float, default=20, help="seconds back down")
    parser.add_argument("--plot", type=Path, default=Path("load.png"), help="PNG of the run")
    parser.add_argument("--json", type=Path, help="write the report as JSON here too")


def run(args: argparse.Namespace) -> int:
    images = [
        path.read_bytes()
        for path in (args.image or [Path("../shared/images/phone_4032x3024_exif6.jpg")])
    ]
    make_one = requests_for(args, images)
    peak = args.rate if args.rate else args.concurrency
    profile = Profile(args.warmup, args.ramp_up, args.hold, args.ramp_down, peak)
    recorder = Recorder()
    began = time.monotonic()
    stop = threading.Event()
    progress = threading.Thread(target=show_progress, args=(profile, recorder, began, stop))
    progress.start()
    try:
        runner = run_rate if args.rate else run_concurrency
        runner(make_one, profile, recorder, began)
    finally:
        stop.set()
        progress.join()
    summary = summarise(recorder.snapshot(), time.monotonic() - began)
    summary["profile"] = {"mode": "rate" if args.rate else "concurrency", **vars(profile)}
    summary["target"] = args.grpc or args.rest
    print(report_text(summary))
    levels = [
        profile.level(second + 0.5) for second in range(len(summary["per_second"]["requests"]))
    ]
    plot(summary, levels, args.plot, f"imagescaler load: {summary['target']}")
    print(f"plot written to {args.plot}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
        print(f"JSON written to {args.json}")
    return 0 if summary["requests"] else 1


def requests_for(args: argparse.Namespace, images: list[bytes]) -> targets.RequestFactory:
    """Per worker, a client that cycles through the images."""
    if args.grpc:
        makers = [targets.grpc_api(args.grpc, data) for data in images]
    else:
        token = args.token or default_token()
        makers = [targets.rest_gateway(args.rest, token, data) for data in images]
    return lambda worker: makers[worker % len(makers)](worker)


def default_token() -> str:
    from rest_gateway import dev_state
    from rest_gateway.identity import token_issuer
    from rest_gateway.settings import GatewaySettings

    return (
        token_issuer(GatewaySettings(dev_state_file=dev_state.DEFAULT_PATH))
        .issue("load")
        .access_token
    )
