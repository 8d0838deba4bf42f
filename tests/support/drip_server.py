"""An HTTP server that answers every request with a body dripped one byte at a time, as
fast as `--pause` allows: the cheapest way to keep a downloader busy. Run as a process
(`python -m tests.support.drip_server`) so it never shares a GIL with what it measures;
it prints its port."""

from __future__ import annotations

import argparse
import asyncio
import socket

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 20000000\r\n\r\n"


async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pause: float) -> None:
    await reader.readuntil(b"\r\n\r\n")
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    writer.write(HEAD)
    try:
        while True:
            writer.write(b"\xff")
            await writer.drain()
            await asyncio.sleep(pause)
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def main(pause: float) -> None:
    server = await asyncio.start_server(lambda r, w: drip(r, w, pause), "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--pause", type=float, default=0.0005)
    asyncio.run(main(parser.parse_args().pause))
