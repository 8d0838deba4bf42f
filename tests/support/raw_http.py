"""Raw HTTP/1.1 over a socket, for clients no library would be: silent, dripping, oversized.
Each waits on the server (its answer, or its closing the connection), never on the clock."""

from __future__ import annotations

import select
import socket


def raw_exchange(port: int, chunks: list[bytes], wait: float = 10) -> bytes:
    """Send `chunks` and read until the server closes or `wait` ends."""
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.settimeout(wait)
        try:
            for chunk in chunks:
                connection.sendall(chunk)
        except OSError:
            pass  # the server may close on us mid-way: that is the point
        return read_answer(connection)


def read_answer(connection: socket.socket) -> bytes:
    answer = b""
    try:
        while data := connection.recv(65536):
            answer += data
    except (TimeoutError, ConnectionResetError):
        pass
    return answer


def drip_until_answered(
    port: int, head: bytes, drop: bytes, pace: float, most: int = 400
) -> tuple[bytes, int]:
    """A slow client: send `head`, then one `drop` each `pace` seconds until the server answers.

    Returns the answer and the drops sent. The client never stops on its own before `most`
    drops, so an answer with fewer drops is the server cutting it off, whatever the clock says."""
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(head)
        for dropped in range(most):
            readable, _, _ = select.select([connection], [], [], pace)
            if readable:
                connection.settimeout(10)
                return read_answer(connection), dropped
            try:
                connection.sendall(drop)
            except OSError:
                break
        connection.settimeout(10)
        return read_answer(connection), most
