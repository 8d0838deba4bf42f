"""Ctrl-C and SIGTERM during a run: the first asks it to stop taking work, finish what is in
flight and complete its open shard; a second one stops it at once (the open shard is dropped,
and nothing in it was journalled). Exit status 128 + the signal: 130 and 143."""

from __future__ import annotations

import os
import signal
from types import FrameType, TracebackType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """A second stop signal: leave now. A BaseException, as KeyboardInterrupt is, so that no
    `except Exception` in the way can swallow it."""

    def __init__(self, number: int) -> None:
        super().__init__(signal.Signals(number).name)
        self.number = number


class StopRequests:
    """While active, SIGINT and SIGTERM are requests; `signal` is the first one received."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        return self.signal is not None

    def __enter__(self) -> StopRequests:
        try:
            for number in STOP_SIGNALS:
                self._previous[number] = signal.signal(number, self._receive)
        except BaseException:  # a second signal between the two: leave as it was
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]

    def _receive(self, number: int, frame: FrameType | None) -> None:
        if self.signal is not None:
            raise Interrupted(number)
        self.signal = number
        # os.write, not print: the handler may run while the main thread is inside a write
        # to stderr (the progress bar), and a buffered stream cannot be entered twice.
        os.write(2, b"\nstopping: finishing the images in flight and the open shard "
                    b"(again to stop at once)\n")  # fmt: skip
