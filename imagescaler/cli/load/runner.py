"""Run a profile: workers that follow a concurrency, or a dispatcher that follows a rate."""

from __future__ import annotations

import math
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from queue import Queue
from typing import TextIO

import grpc

from imagescaler.cli.load.profile import Profile
from imagescaler.cli.load.recorder import Outcome, Recorder
from imagescaler.cli.load.stats import percentile
from imagescaler.cli.load.targets import Request, RequestFactory


def status_of(error: Exception) -> str:
    if isinstance(error, grpc.RpcError):
        return str(error.code().name)
    return str(error) if str(error).startswith("HTTP ") else type(error).__name__


def timed(request: Request, began: float, recorder: Recorder) -> None:
    started = time.monotonic()
    try:
        request()
        status = "OK"
    except Exception as error:
        status = status_of(error)
    recorder.add(Outcome(started - began, (time.monotonic() - started) * 1000, status))


def run_concurrency(
    factory: RequestFactory, profile: Profile, recorder: Recorder, began: float
) -> None:
    """Worker i sends requests back to back while the level is above i."""
    end = began + profile.duration

    def worker(index: int) -> None:
        request = factory(index)
        while (now := time.monotonic()) < end:
            if index < max(1, math.ceil(profile.level(now - began))):
                timed(request, began, recorder)
            else:
                time.sleep(0.02)

    threads = [
        threading.Thread(target=worker, args=(i,), daemon=True)
        for i in range(max(1, math.ceil(profile.peak)))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run_rate(
    factory: RequestFactory,
    profile: Profile,
    recorder: Recorder,
    began: float,
    max_in_flight: int = 64,
) -> None:
    """Start requests at the level's rate whether or not earlier ones finished (open loop)."""
    clients: Queue[Request] = Queue()
    for index in range(max_in_flight):
        clients.put(factory(index))

    def one() -> None:
        request = clients.get()
        try:
            timed(request, began, recorder)
        finally:
            clients.put(request)

    due = 0.0
    with ThreadPoolExecutor(max_in_flight) as pool:
        previous = time.monotonic()
        while (now := time.monotonic()) < began + profile.duration:
            due += profile.level(now - began) * (now - previous)
            previous = now
            while due >= 1:
                due -= 1
                pool.submit(one)
            time.sleep(0.005)


def show_progress(
    profile: Profile,
    recorder: Recorder,
    began: float,
    stop: threading.Event,
    out: TextIO = sys.stderr,
) -> None:
    """A line a second: elapsed, phase, level, requests, rate, errors, p99 so far."""
    seen = 0
    while not stop.wait(1.0):
        outcomes = recorder.snapshot()
        elapsed = time.monotonic() - began
        ok = [o.milliseconds for o in outcomes if o.status == "OK"]
        errors = len(outcomes) - len(ok)
        p99 = f"{percentile(ok, 0.99):.0f}" if ok else "-"
        print(
            f"{elapsed:6.1f}s  {profile.phase(elapsed):9s}  level {profile.level(elapsed):5.1f}  "
            f"requests {len(outcomes):6d}  rate {len(outcomes) - seen:4d}/s  errors {errors:4d}  "
            f"p99 {p99} ms",
            file=out,
            flush=True,
        )
        seen = len(outcomes)
