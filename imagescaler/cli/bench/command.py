"""`imagescaler bench`: check that the bench extra is installed, then run the benchmark."""

from __future__ import annotations

import argparse
import importlib
import sys

from imagescaler.cli.bench.config import BenchConfig
from imagescaler.cli.bench.runner import run as run_bench

EXTRA_HINT = "pip install 'imagescaler[bench]' (or: make bench)"


def missing_extra() -> str | None:
    """What of the `bench` extra is missing, or None when everything is there."""
    try:
        importlib.import_module("pyvips")
    except (ImportError, OSError) as error:
        return f"pyvips, which the benchmark compares against, cannot be imported ({error})"
    return None


def run(args: argparse.Namespace) -> int:
    problem = missing_extra()
    if problem is not None:
        print(
            f"imagescaler bench: {problem}; install the bench extra: {EXTRA_HINT}", file=sys.stderr
        )
        return 2
    quick = bool(args.quick)
    run_bench(
        BenchConfig(
            quick=quick,
            seconds=args.seconds or (1.0 if quick else 10.0),
            memory_seconds=args.memory_seconds or (2.0 if quick else 60.0),
            concurrencies=(1, 2) if quick else (1, 2, 4),
            repeats=3 if quick else 15,
            thumbor=not args.no_thumbor,
            shared=args.shared,
            json_path=args.json,
        )
    )
    return 0
