"""The `imagescaler load` command: arguments, the run, the report, the plot and the JSON."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

import httpx

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
    if args.rest:
        warning = throttle_warning(args, images[0], peak)
        if warning:
            print(warning, file=sys.stderr, flush=True)
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
    return verdict(summary, args.max_error_ratio)


def verdict(summary: dict[str, object], max_error_ratio: float) -> int:
    """0 when requests were made and few enough failed; 1 otherwise, saying why."""
    requests, errors = int(summary["requests"]), int(summary["errors"])  # type: ignore[call-overload]
    if not requests:
        print("FAILED: no request was made", file=sys.stderr)
        return 1
    if errors / requests > max_error_ratio:
        print(
            f"FAILED: {errors / requests:.1%} of the requests failed, over --max-error-ratio "
            f"{max_error_ratio:.1%} (errors by status above)",
            file=sys.stderr,
        )
        return 1
    return 0


def throttle_warning(args: argparse.Namespace, image: bytes, peak: float) -> str | None:
    """One request to the gateway: its rate-limit headers say whether the planned load fits."""
    token = args.token or default_token()
    started = time.monotonic()
    try:
        reply = httpx.post(
            f"{args.rest.rstrip('/')}/v1/scale",
            headers={"Authorization": f"Bearer {token}"},
            files={"file": ("photo.jpg", image, "image/jpeg")},
            timeout=60,
        )
    except httpx.HTTPError as error:
        return f"warning: the gateway did not answer a first request: {error}"
    latency = max(time.monotonic() - started, 0.001)
    limit, reset = reply.headers.get("x-ratelimit-limit"), reply.headers.get("x-ratelimit-reset")
    if not (limit and reset):
        return None
    window = max(1.0, float(reset) - time.time())
    planned = peak * window if args.rate else peak * window / latency
    if planned <= int(limit):
        return None
    return (
        f"warning: the gateway allows {limit} requests per {window:.0f} s to this user, and the "
        f"planned load is about {planned:.0f} in that time: most requests will be refused "
        "with 429. Raise the gateway's --rate-limit (imagescaler up --rate-limit 100000/minute)."
    )


def requests_for(args: argparse.Namespace, images: list[bytes]) -> targets.RequestFactory:
    """Per worker, a client that cycles through the images."""
    if args.grpc:
        factories = [targets.grpc_api(args.grpc, data, args.token) for data in images]
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
