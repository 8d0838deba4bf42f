"""The server engine: jobs streamed through a deployment's PreprocessStream, with several
streams (one connection each) so that a Service spreads them over API replicas, and the
deployment's refusals for now sent again with backoff."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import grpc

from grpc_stubs import preprocess_v1_pb2 as pre_pb
from grpc_stubs import preprocess_v1_pb2_grpc as pre_grpc
from imagescaler.cli.batch.engines import Job, Outcome, Work
from imagescaler.cli.batch.server_replies import outcome_of, stream_failure
from imagescaler.cli.remote_api import open_channel
from imagescaler.grpc_runtime.auth import bearer_metadata
from imagescaler.grpc_runtime.options import CLIENT_MESSAGE_LIMIT, client_options

# Refusals that say "not now": the item is sent again, up to MAX_ATTEMPTS times.
TRANSIENT = frozenset(
    {"overloaded", "shutting_down", "image_service_unavailable", "image_service_timeout"}
)
MAX_ATTEMPTS = 8
# Stream endings in a row, with no reply between them, before the run gives up on the server.
REOPENINGS = 5


class ServerEngine:
    """`streams` PreprocessStreams to the API, each with at most `window` images outstanding;
    several streams so that a Service spreads them over API replicas."""

    def __init__(
        self,
        target: str,
        work: Work,
        reference: str,
        streams: int,
        *,
        token: str | None = None,
        tls: bool = False,
        window: int = 8,
    ) -> None:
        self._target = target
        self._tls = tls
        self._metadata = bearer_metadata(token)
        self._work = work
        self._reference = reference
        self._profile = work.profile.name
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
                    raise stream_failure(outcome)
                else:
                    yield outcome
        finally:
            stop.set()

    def _same_profile(self, outcome: Outcome) -> Outcome:
        """A reply made by another version of the profile (a deployment rolling out) is not
        stored among the others: the item fails for now, and a rerun makes it again."""
        if not outcome.ok or outcome.profile == self._reference:
            return outcome
        message = f"the server answered with {outcome.profile}, not {self._reference}"
        return Outcome(outcome.index, reason="profile_changed", message=message)

    def _stream(
        self,
        jobs: Iterator[Job],
        lock: threading.Lock,
        outcomes: queue.Queue[Outcome | BaseException | None],
        stop: threading.Event,
    ) -> None:
        """One stream, opened again when the server ends it UNAVAILABLE (its connection's
        age, a replica going away): the items it had not answered go first on the new one.
        It fails after REOPENINGS endings in a row with no reply between them."""
        items = _StreamItems()
        endings = 0
        try:
            while True:
                replies = items.replies
                try:
                    self._one_stream(jobs, lock, outcomes, stop, items)
                    return
                except grpc.RpcError as error:
                    endings = 1 if items.replies > replies else endings + 1
                    if error.code() != grpc.StatusCode.UNAVAILABLE or endings > REOPENINGS:
                        raise
                    items.send_again_unanswered()
                    time.sleep(min(2.0, 0.1 * 2**endings))  # backoff before reconnecting
        except BaseException as error:  # handed to the caller's thread
            outcomes.put(error)
        finally:
            outcomes.put(None)

    def _one_stream(
        self,
        jobs: Iterator[Job],
        lock: threading.Lock,
        outcomes: queue.Queue[Outcome | BaseException | None],
        stop: threading.Event,
        items: _StreamItems,
    ) -> None:
        """One PreprocessStream, until every item is answered. A transient refusal (the
        service at capacity, a replica going away) is sent again after a backoff."""
        slots = threading.Semaphore(self._window)
        state = items.state
        # Set when this stream is over: gRPC's thread may still be inside requests(), and must
        # take nothing more (what it took would be sent into a call that has ended).
        ended = threading.Event()

        def next_job() -> tuple[Job, int] | None:
            with state:
                while not stop.is_set() and not ended.is_set():
                    if items.retries:
                        return items.retries.pop(0)
                    with lock:
                        job = next(jobs, None)
                    if job is not None:
                        return job, 1
                    if not items.outstanding:
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
                    if ended.is_set():
                        items.retries.insert(0, pair)
                        return
                    items.outstanding[str(job.index)] = (job, attempt)
                url, content = job.url, job.content
                image = pre_pb.ImageInput(url=url) if url else pre_pb.ImageInput(content=content)
                yield pre_pb.StreamRequest(id=str(job.index), image=image, profile=self._profile)

        options = client_options(CLIENT_MESSAGE_LIMIT)
        with (
            open_channel(self._target, self._tls, options) as channel,
            _ending(ended, state, slots),
        ):
            stub = pre_grpc.PreprocessorStub(channel)
            for reply in stub.PreprocessStream(requests(), metadata=self._metadata):
                slots.release()
                job, attempt = items.outstanding[reply.id]
                again = reply.code != 0 and reply.reason in TRANSIENT and attempt < MAX_ATTEMPTS
                if again:
                    time.sleep(min(1.0, 0.05 * 2**attempt))  # backoff, outside the lock
                with state:  # requeued before it is forgotten: the stream cannot end between
                    if again:
                        items.retries.append((job, attempt + 1))
                    else:
                        outcome = outcome_of(job.index, reply, self._work)
                        outcomes.put(self._same_profile(outcome))
                    del items.outstanding[reply.id]
                    items.replies += 1
                    state.notify_all()


@contextmanager
def _ending(
    ended: threading.Event, state: threading.Condition, slots: threading.Semaphore
) -> Iterator[None]:
    """On the way out of a stream, however it ends: mark it ended, and wake its requests()
    wherever it waits, so that gRPC's thread leaves it."""
    try:
        yield
    finally:
        with state:
            ended.set()
            state.notify_all()
        slots.release(n=1_000_000)


class _StreamItems:
    """One stream's items in flight, kept across the times it is opened again."""

    def __init__(self) -> None:
        self.state = threading.Condition()
        self.outstanding: dict[str, tuple[Job, int]] = {}  # sent, not answered
        self.retries: list[tuple[Job, int]] = []  # to send (again) before new jobs
        self.replies = 0

    def send_again_unanswered(self) -> None:
        """After the stream ended: what it had not answered is sent first on the next one."""
        with self.state:
            self.retries[:0] = list(self.outstanding.values())
            self.outstanding.clear()
