"""Where the pixel work happens: in a local process pool (the library), or on a deployment
through PreprocessStream. Both turn jobs into outcomes, in completion order, with a bounded
number in flight."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import grpc

from grpc_stubs import preprocess_v1_pb2 as pre_pb
from grpc_stubs import preprocess_v1_pb2_grpc as pre_grpc
from imagescaler.imaging.formats import Limits, configure_pillow
from imagescaler.imaging.preprocess import preprocess
from imagescaler.imaging.profiles import Profile
from imagescaler.imaging.tensors import npy_bytes, npy_header
from imagescaler.runtime.errors import ServiceError
from imagescaler.runtime.grpc_options import CLIENT_MESSAGE_LIMIT, client_options
from rest_gateway.preprocess_responses import geometry_dict

# Refusals that say "not now": the item is sent again, up to MAX_ATTEMPTS times.
TRANSIENT = frozenset(
    {"overloaded", "shutting_down", "image_service_unavailable", "image_service_timeout"}
)
MAX_ATTEMPTS = 8
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "image/jpeg": "jpg",
              "image/png": "png", "image/webp": "webp"}  # fmt: skip


@dataclass(frozen=True)
class Job:
    index: int
    content: bytes  # empty for a URL the server fetches
    url: str = ""


@dataclass(frozen=True)
class Outcome:
    index: int
    extension: str = ""  # npy, jpg, png, webp; empty when it failed
    data: bytes = b""
    profile: str = ""
    geometry: dict[str, Any] | None = None
    output: str = ""
    reason: str = ""
    message: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.extension)


def run_profile(index: int, data: bytes, profile: Profile, limits: Limits) -> Outcome:
    """In a worker: preprocess() one image; a bad image is an outcome, not an error."""
    try:
        result = preprocess(data, profile, limits)
    except ServiceError as error:
        return Outcome(index, reason=error.reason, message=error.message)
    except Exception as error:  # reported per item, the run goes on
        return Outcome(index, reason="internal", message=f"{type(error).__name__}: {error}")
    geometry = result.geometry.as_dict()
    if result.array is not None:
        shape = "x".join(map(str, result.array.shape))
        return Outcome(index, "npy", npy_bytes(result.array), result.profile, geometry,
                       f"{shape} {result.array.dtype}")  # fmt: skip
    assert result.data is not None and result.format is not None
    width, height = result.geometry.output_size
    extension = EXTENSIONS[result.format]
    return Outcome(index, extension, result.data, result.profile, geometry,
                   f"{width}x{height} {extension}")  # fmt: skip


class LocalEngine:
    """The library in a pool of threads, one per core. Pillow, libjpeg-turbo and NumPy release
    the GIL for the pixel work, and threads hand back tensors without copying them between
    processes (the bench measured threads ahead of processes here; docs/benchmarks.md)."""

    def __init__(self, profile: Profile, workers: int, limits: Limits) -> None:
        self._profile = profile
        self._workers = workers
        self._limits = limits

    def run(self, jobs: Iterator[Job]) -> Iterator[Outcome]:
        configure_pillow(self._limits.max_pixels)
        window = 2 * self._workers
        with ThreadPoolExecutor(self._workers, thread_name_prefix="batch") as pool:
            pending: set[Future[Outcome]] = set()
            try:
                for job in jobs:
                    if len(pending) >= window:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        yield from (future.result() for future in done)
                    pending.add(pool.submit(
                        run_profile, job.index, job.content, self._profile, self._limits
                    ))  # fmt: skip
                for future in pending:
                    yield future.result()
            finally:
                pool.shutdown(wait=True, cancel_futures=True)


class ServerEngine:
    """`streams` PreprocessStreams to the API, each with at most `window` images outstanding;
    several streams so that a Service spreads them over API replicas."""

    def __init__(self, target: str, profile: str, streams: int, window: int = 8) -> None:
        self._target = target
        self._profile = profile
        self._streams = streams
        self._window = window

    def run(self, jobs: Iterator[Job]) -> Iterator[Outcome]:
        # Bounded: when writing the shards lags, replies wait, and HTTP/2 flow control slows
        # the server instead of tensors piling up here.
        outcomes: queue.Queue[Outcome | BaseException | None] = queue.Queue(
            maxsize=self._streams * self._window
        )
        lock = threading.Lock()
        stop = threading.Event()
        threads = [
            threading.Thread(target=self._stream, args=(jobs, lock, outcomes, stop), daemon=True)
            for _ in range(self._streams)
        ]
        for thread in threads:
            thread.start()
        finished = 0
        try:
            while finished < len(threads):
                outcome = outcomes.get()
                if outcome is None:
                    finished += 1
                elif isinstance(outcome, BaseException):
                    raise outcome
                else:
                    yield outcome
        finally:
            stop.set()

    def _stream(
        self,
        jobs: Iterator[Job],
        lock: threading.Lock,
        outcomes: queue.Queue[Outcome | BaseException | None],
        stop: threading.Event,
    ) -> None:
        """One stream. A transient refusal (the service at capacity, a replica going away)
        is sent again after a backoff; the stream stays open until every item is answered."""
        slots = threading.Semaphore(self._window)
        state = threading.Condition()
        outstanding: dict[str, tuple[Job, int]] = {}
        retries: list[tuple[Job, int]] = []

        def next_job() -> tuple[Job, int] | None:
            with state:
                while not stop.is_set():
                    if retries:
                        return retries.pop(0)
                    with lock:
                        job = next(jobs, None)
                    if job is not None:
                        return job, 1
                    if not outstanding:
                        return None
                    state.wait(0.05)
            return None

        def requests() -> Iterator[pre_pb.StreamRequest]:
            while True:
                slots.acquire()
                pair = next_job()
                if pair is None:
                    return
                job, attempt = pair
                with state:
                    outstanding[str(job.index)] = (job, attempt)
                url, content = job.url, job.content
                image = pre_pb.ImageInput(url=url) if url else pre_pb.ImageInput(content=content)
                yield pre_pb.StreamRequest(id=str(job.index), image=image, profile=self._profile)

        try:
            options = client_options(CLIENT_MESSAGE_LIMIT)
            with grpc.insecure_channel(self._target, options=options) as channel:
                stub = pre_grpc.PreprocessorStub(channel)
                for reply in stub.PreprocessStream(requests()):
                    slots.release()
                    job, attempt = outstanding[reply.id]
                    again = reply.code != 0 and reply.reason in TRANSIENT and attempt < MAX_ATTEMPTS
                    if again:
                        time.sleep(min(1.0, 0.05 * 2**attempt))  # backoff, outside the lock
                    with state:  # requeued before it is forgotten: the stream cannot end between
                        if again:
                            retries.append((job, attempt + 1))
                        else:
                            outcomes.put(outcome_of(job.index, reply))
                        del outstanding[reply.id]
                        state.notify_all()
        except BaseException as error:  # handed to the caller's thread
            outcomes.put(error)
        finally:
            outcomes.put(None)


def outcome_of(index: int, reply: pre_pb.StreamReply) -> Outcome:
    if reply.code != 0:
        return Outcome(index, reason=reply.reason or "error", message=reply.message)
    result = reply.result
    geometry = geometry_dict(result.geometry)
    if result.WhichOneof("output") == "tensor":
        tensor = result.tensor
        data = npy_header(tuple(tensor.shape), tensor.dtype) + tensor.data
        shape = "x".join(map(str, tensor.shape))
        return Outcome(index, "npy", data, result.profile, geometry, f"{shape} {tensor.dtype}")
    width, height = geometry["output_size"]
    extension = EXTENSIONS[result.image.media_type]
    return Outcome(index, extension, result.image.data, result.profile, geometry,
                   f"{width}x{height} {extension}")  # fmt: skip


def list_server_profiles(target: str, timeout: float = 10) -> dict[str, str]:
    """The deployment's profiles: name -> reference."""
    with grpc.insecure_channel(target) as channel:
        listed = pre_grpc.PreprocessorStub(channel).ListProfiles(
            pre_pb.ListProfilesRequest(), timeout=timeout
        )
    return {p.name: p.ref for p in listed.profiles}


def metadata_json(outcome: Outcome, source: str, label: str | None) -> bytes:
    """KEY.json: the geometry, the profile reference, the source and the label."""
    body = {
        "profile": outcome.profile,
        "geometry": outcome.geometry,
        "source": source,
        "label": label,
    }
    return json.dumps(body, sort_keys=True).encode()
