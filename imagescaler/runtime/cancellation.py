"""Cancelling pixel work whose caller has gone: a token per job, seen by the job's thread.

The worker pool makes a Cancellation for each job and sets it as the job's current one; when
the caller goes (a cancelled call, an expired deadline) the pool cancels it. Pure image code
stops at its checkpoints (`raise_if_cancelled`) and kills what it started (`on_cancel`: the
JPEG XL decoder's child process), so a job nobody waits for stops holding its worker."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from imagescaler.runtime.errors import Cancelled


class Cancellation:
    """Set once; callbacks registered while it is unset run when it is set (or at once)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._callbacks: list[Callable[[], object]] = []

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        with self._lock:
            if self._cancelled:
                return
            self._cancelled = True
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    @contextmanager
    def on_cancel(self, callback: Callable[[], object]) -> Iterator[None]:
        """Run `callback` if the job is cancelled while the block runs."""
        with self._lock:
            run_now = self._cancelled
            if not run_now:
                self._callbacks.append(callback)
        if run_now:
            callback()
        try:
            yield
        finally:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)


T = TypeVar("T")
_current: ContextVar[Cancellation | None] = ContextVar("cancellation", default=None)


def run_cancellable(cancellation: Cancellation, job: Callable[..., T], *args: object) -> T:
    """Run `job(*args)` with `cancellation` as the current one (on the job's own thread)."""
    token = _current.set(cancellation)
    try:
        raise_if_cancelled()
        return job(*args)
    finally:
        _current.reset(token)


def raise_if_cancelled() -> None:
    """A checkpoint: raise Cancelled if the caller of the running job has gone."""
    cancellation = _current.get()
    if cancellation is not None and cancellation.cancelled:
        raise Cancelled("the call was cancelled or its deadline passed; its work was stopped")


@contextmanager
def kill_on_cancel(callback: Callable[[], object]) -> Iterator[None]:
    """Run `callback` if the current job is cancelled during the block (no job: nothing)."""
    cancellation = _current.get()
    if cancellation is None:
        yield
        return
    with cancellation.on_cancel(callback):
        yield
