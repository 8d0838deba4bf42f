"""What one PreprocessStream may hold: at most `images` in work or waiting to be sent, and at
most `reply_bytes` of replies not yet sent, the images in work counted at the size of the
largest reply so far. A stream's next request is read only when there is room, so a client
that reads its replies slowly (or never) holds a bounded amount of the API's memory, and HTTP/2
flow control holds it back. Until a first reply gives the size, at most FIRST_IMAGES are in work;
a reply larger than the limit still goes when nothing else is held."""

from __future__ import annotations

import asyncio

FIRST_IMAGES = 2


class StreamWindow:
    def __init__(self, images: int, reply_bytes: int) -> None:
        self._images = images
        self._limit = reply_bytes
        self.in_work = 0
        self.waiting = 0  # replies made, not yet handed to gRPC
        self.waiting_bytes = 0
        self.largest = 0
        self.replied = False  # the first reply is made: `largest` is known
        self._changed = asyncio.Condition()

    @property
    def held_bytes(self) -> int:
        return self.waiting_bytes + self.in_work * self.largest

    def _has_room(self) -> bool:
        if self.in_work + self.waiting == 0:
            return True
        if not self.replied:  # no reply's size known yet
            return self.in_work < min(FIRST_IMAGES, self._images)
        return (
            self.in_work + self.waiting < self._images
            and self.held_bytes + self.largest <= self._limit
        )

    async def take(self) -> None:
        """Wait for room for one more image, then count it in work."""
        async with self._changed:
            await self._changed.wait_for(self._has_room)
            self.in_work += 1

    async def give_back(self) -> None:
        """A taken place that found no request: the stream has ended."""
        async with self._changed:
            self.in_work -= 1
            self._changed.notify_all()

    async def made(self, size: int) -> None:
        """An image's reply is made and waits to be sent."""
        async with self._changed:
            self.in_work -= 1
            self.waiting += 1
            self.waiting_bytes += size
            self.largest = max(self.largest, size)
            self.replied = True
            self._changed.notify_all()

    async def sent(self, size: int) -> None:
        """A reply was handed to gRPC."""
        async with self._changed:
            self.waiting -= 1
            self.waiting_bytes -= size
            self._changed.notify_all()
