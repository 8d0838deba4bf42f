"""The `imagescaler load` command: arguments, the run, the report, the plot and the JSON."""

from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path

from imagescaler.cli.load import targets
from imagescaler.cli.load.plot import plot
from imagescaler.cli.load.profile import Profile
from imagescaler.cli.load.recorder import Recorder, report_text, summarise
from imagescaler.cli.load.runner import run_concurrency, run_rate, show_progress

DEFAULT_PHOTO = Path("../shared/images/phone_4032x3024_exif6.jpg")


def run(args: argparse.Namespace) -> int:
    images = [path.read_bytes() for path in (args.image or [DEFAULT_PHOTO])]
    factory = requests_for(args, images)
    peak = args.rate if args.rate else args.concurrency
    profile = Profile(args.warmup, args.ramp_up, args.hold, args.ramp_down, peak)
    recorder = Recorder()
    began = time.monotonic()
    stop = threading.Event()
    progress = threading.Thread(target=show_progress, args=(profile, recorder, began, stop))
    progress.start()
    try:
        runner = run_rate if args.rate else run_concurrency
        runner(factory, profile, recorder, began)
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
        factories = [targets.grpc_api(args.grpc, data) for data in images]
    else:
        token = args.token or default_token()
        factories = [targets.rest_gateway(args.rest, token, data) for data in images]
    return lambda worker: factories[worker % len(factories)](worker)


def default_token() -> str:
    from rest_gateway import dev_state
    from rest_gateway.identity import token_issuer
    from rest_gateway.settings import GatewaySettings

    return (
        token_issuer(GatewaySettings(dev_state_file=dev_state.DEFAULT_PATH))
        .issue("load")
        .access_token
    )
