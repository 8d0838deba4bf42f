"""`imagescaler batch`: check the call, skip what is already done, run the rest, report.

Exit status: 0 when every item is written, 1 when some failed (errors.jsonl lists them) or
the output could not be written, 2 for a mistake in the call, 130 and 143 when stopped by
SIGINT and SIGTERM (what was finished is kept)."""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from imagescaler.cli.batch.engines import EngineFailed, LocalEngine, Work
from imagescaler.cli.batch.index import write_outputs
from imagescaler.cli.batch.journal import Journal, JournalError
from imagescaler.cli.batch.outputs import Output, output_for
from imagescaler.cli.batch.progress import summary_table
from imagescaler.cli.batch.runner import BatchRun, OutputError
from imagescaler.cli.batch.sources import Item, UsageError, read_source
from imagescaler.cli.batch.stopping import Interrupted, StopRequests
from imagescaler.cli.remote_api import TokenFileError, read_token
from imagescaler.imaging.formats import DEFAULT_LIMITS
from imagescaler.imaging.profiles import Profile
from imagescaler.imaging.profiles_file import ProfilesFileError, profile_catalogue
from imagescaler.runtime.memory_tuning import BATCH, tune_malloc
from imagescaler.runtime.settings import available_cpus
from imagescaler.shards.items import choose_store
from imagescaler.shards.writer import next_shard_number

if TYPE_CHECKING:
    from imagescaler.cli.batch.dask_engine import DaskEngine
    from imagescaler.cli.batch.downloads import UrlFetcher
    from imagescaler.cli.batch.server_engine import ServerEngine
SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6,
         "mib": 2**20, "g": 10**9, "gb": 10**9, "gib": 2**30, "t": 10**12, "tb": 10**12,
         "tib": 2**40, "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}  # fmt: skip


@dataclass(frozen=True)
class ShardLimits:
    samples: int
    bytes: int


@dataclass(frozen=True)
class Plan:
    items: list[Item]
    left_out: dict[str, int]  # files of the folder that are not images, by suffix
    output: Output
    engine: LocalEngine | ServerEngine | DaskEngine
    reference: str  # of the profile, as the engine will report it
    shard_limits: ShardLimits
    fetcher: UrlFetcher | None  # local runs download URLs themselves
    s3_endpoint: str | None = None  # s3:// sources are read with this (else AWS's own)


def run(args: argparse.Namespace) -> int:
    tune_malloc(BATCH)  # before any thread: flat memory over millions of large buffers
    with ExitStack() as stack:
        try:
            plan = prepare(args, stack)
        except UsageError as error:
            print(f"imagescaler batch: {error}", file=sys.stderr)
            return 2
        return execute(plan)
    raise AssertionError("unreachable")  # pragma: no cover


def prepare(args: argparse.Namespace, stack: ExitStack) -> Plan:
    if importlib.util.find_spec("pyarrow") is None:
        raise UsageError("index.parquet needs pyarrow: pip install 'imagescaler[batch]'")
    source = read_source(
        args.source,
        labels_from_folders=args.labels_from_folders,
        root=args.root,
        s3_endpoint=args.s3_endpoint,
    )
    out = output_for(str(args.out), args.s3_endpoint, args.staging)
    limits = ShardLimits(positive(args.shard_size, "--shard-size"), parse_bytes(args.shard_bytes))
    if args.server:
        from imagescaler.cli.batch.server_engine import ServerEngine  # grpc, only for servers

        if args.profiles_file:
            raise UsageError("--profiles-file is for --local: a server serves its own profiles")
        try:
            token = read_token(args.token_file)
        except TokenFileError as error:
            raise UsageError(str(error)) from None
        known = server_profiles(args.server, token, args.tls)
        check_profile(args.profile, {name: ref for name, (ref, _) in known.items()})
        reference, profile = known[args.profile]
        work = Work(profile, storage(args.store, profile))
        remote = ServerEngine(
            args.server, work, reference, args.concurrency or 2, token=token, tls=args.tls
        )
        endpoint = args.s3_endpoint
        return Plan(source.items, source.left_out, out, remote, reference, limits, None, endpoint)
    if args.tls or args.token_file:
        raise UsageError("--tls and --token-file are for --server: --local reaches no server")
    if args.scheduler and args.engine != "dask":
        raise UsageError("--scheduler is for --engine dask")
    try:
        profiles = profile_catalogue(
            profiles_file=Path(args.profiles_file) if args.profiles_file else None
        )
    except ProfilesFileError as error:
        raise UsageError(str(error)) from None
    check_profile(args.profile, {name: p.reference for name, p in profiles.items()})
    profile = profiles[args.profile]
    work = Work(profile, storage(args.store, profile))
    engine: LocalEngine | DaskEngine = LocalEngine(
        work, args.concurrency or available_cpus(), DEFAULT_LIMITS
    )
    if args.engine == "dask":
        from imagescaler.cli.batch.dask_engine import DaskEngine  # distributed, only for Dask

        workers = args.concurrency or available_cpus()
        engine = DaskEngine(work, DEFAULT_LIMITS, args.scheduler, workers)
    fetcher = None
    if any(item.is_url for item in source.items):
        from imagescaler.cli.batch.downloads import UrlFetcher  # httpx, only for URLs

        fetcher = stack.enter_context(UrlFetcher(allow_private=args.allow_private_urls))
    return Plan(
        source.items, source.left_out, out, engine, profile.reference, limits, fetcher,
        args.s3_endpoint,
    )  # fmt: skip


def storage(store: str | None, profile: Profile) -> str | None:
    """How a profile's outputs are stored (shards.items.choose_store), a usage error if not."""
    try:
        return choose_store(profile, store)
    except ValueError as error:
        raise UsageError(str(error)) from None


def check_profile(name: str, references: dict[str, str]) -> None:
    if name not in references:
        raise UsageError(
            f"there is no profile {name!r}; known profiles: {', '.join(sorted(references))}"
        )


def server_profiles(target: str, token: str | None, tls: bool) -> dict[str, tuple[str, Profile]]:
    import grpc

    from imagescaler.cli.batch.server_replies import list_server_profiles

    try:
        return list_server_profiles(target, token, tls)
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.UNAUTHENTICATED:
            hint = "" if token else "; pass one with --token-file"
            raise UsageError(f"{target} refused the call: {error.details()}{hint}") from None
        raise UsageError(f"cannot list the profiles of {target}: {error.code().name}") from None


def positive(value: int, flag: str) -> int:
    if value < 1:
        raise UsageError(f"{flag} must be at least 1, not {value}")
    return value


def parse_bytes(text: str) -> int:
    """`256MiB`, `1GB`, `500M`, `1048576`: a size in bytes (K, M, G are powers of 1000, KiB,
    MiB, GiB of 1024)."""
    match = SIZE.match(text)
    unit = (match[2] or "").lower() if match else None
    if match is None or unit not in UNITS or float(match[1]) * UNITS[unit] < 1:
        raise UsageError(f"--shard-bytes takes a size such as 256MiB or 1GB, not {text!r}")
    return int(float(match[1]) * UNITS[unit])


def execute(plan: Plan) -> int:
    started = time.monotonic()
    with StopRequests() as stop, ExitStack() as held:
        output = plan.output
        try:
            held.enter_context(output.exclusive())
            journal = Journal(output.journal_lines())
            shards = output.complete_shards()
            previous = journal.open(shards[-1] if shards else None, output.shard_records)
            runner = BatchRun(plan, journal, previous, next_shard_number(shards), stop)
            runner.run()
            failed = write_outputs(output, journal.entries(), {i.key for i in plan.items})
        except (UsageError, JournalError, OutputError, EngineFailed, OSError) as error:
            return complain(*explain(error, output.where))
        except Interrupted as interrupted:
            message = f"stopped at once by {interrupted}: the open shard was dropped"
            return complain(f"{message}; finished shards are kept", 128 + interrupted.number)
    elapsed = time.monotonic() - started
    print(summary_table(plan, runner.counts, failed, elapsed, stop.requested))
    if stop.signal is not None:
        return 128 + stop.signal
    return 1 if failed else 0


def explain(error: Exception, out: str) -> tuple[str, int]:
    """One line and the exit status for what ended a run early."""
    if isinstance(error, JournalError):
        return f"cannot resume in {out}: {error}. Move {out} away to start afresh", 2
    if isinstance(error, OSError):
        return f"cannot write to {out}: {error.strerror or error}", 1
    if isinstance(error, EngineFailed):
        return f"{error}; finished shards are kept and a rerun resumes", 1
    return str(error), 2 if isinstance(error, UsageError) else 1


def complain(message: str, status: int) -> int:
    print(f"imagescaler batch: {message}", file=sys.stderr)
    return status
