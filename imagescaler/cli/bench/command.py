"""`imagescaler bench`: its options, then the benchmark."""

from __future__ import annotations

import argparse

from imagescaler.cli.bench.config import BenchConfig
from imagescaler.cli.bench.runner import run as run_bench


def run(args: argparse.Namespace) -> int:
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
