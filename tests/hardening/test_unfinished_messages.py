"""Unfinished gRPC messages cannot pile up in the API: streams are limited per connection and
calls per replica, a refused call's message is never read, health answers throughout, the API
stays under its pod's memory limit (run with the base manifests' settings), and the memory
comes back when the attacker leaves.

The attacker speaks raw HTTP/2 (h2) with a valid token (the manifests' API asks for one; a
caller without one is refused before any message is read): on each of several connections it
opens as many streams as it can, each announcing a 25 MB ScaleImage message and sending 20 MB
of it, never the rest."""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import pytest

from imagescaler.grpc_runtime.client import health_status_at
from tests.hardening.processes import api_process
from tests.support.overlays import command_of, overlay_pods, pod_environment
from tests.support.system_checks import api_token, write_gateway_secret
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

MiB = 1024 * 1024
CONNECTIONS = 4
STREAMS_PER_CONNECTION = 80
ANNOUNCED = 25 * 1000 * 1000
SENT = 20 * 1000 * 1000
KEPT_MIB = 16  # what may stay over 1.2 x idle once the attacker has gone
ENDED = (h2.events.StreamReset, h2.events.StreamEnded, h2.events.TrailersReceived)


class Attacker:
    """One HTTP/2 connection opening unfinished ScaleImage calls."""

    def __init__(self, port: int, token: str) -> None:
        self.token = token
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.settimeout(0.05)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.conn.initiate_connection()
        self.sent: dict[int, int] = {}
        self.refused: set[int] = set()
        self.flush()
        self.pump()

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def pump(self) -> None:
        """Read what the server sent: settings, window updates, refusals."""
        try:
            while data := self.sock.recv(1 << 20):
                for event in self.conn.receive_data(data):
                    ended = (
                        h2.events.StreamReset,
                        h2.events.StreamEnded,
                        h2.events.TrailersReceived,
                    )
                    if isinstance(event, ended):
                        self.refused.add(event.stream_id)
                self.flush()
        except (TimeoutError, BlockingIOError):
            pass

    def open_streams(self, count: int) -> None:
        for _ in range(count):
            stream = self.conn.get_next_available_stream_id()
            try:
                self.conn.send_headers(
                    stream,
                    [
                        (":method", "POST"),
                        (":scheme", "http"),
                        (":path", "/imagescaler.ImageScaler/ScaleImage"),
                        (":authority", "127.0.0.1"),
                        ("content-type", "application/grpc"),
                        ("te", "trailers"),
                        ("authorization", f"Bearer {self.token}"),
                    ],
                )
            except h2.exceptions.TooManyStreamsError:
                return  # the server's SETTINGS_MAX_CONCURRENT_STREAMS
            # The gRPC frame prefix: not compressed, 25 MB long. Then the start of a protobuf
            # ScaleImageRequest { image { content: <25 MB> } } that never ends.
            self.conn.send_data(stream, b"\0" + struct.pack(">I", ANNOUNCED) + b"\x0a")
            self.sent[stream] = 0
        self.flush()

    def feed(self) -> bool:
        """Send as much of each unfinished message as flow control allows; True if any went."""
        progressed = False
        for stream, sent in self.sent.items():
            if stream in self.refused or sent >= SENT:
                continue
            try:
                window = self.conn.local_flow_control_window(stream)
            except h2.exceptions.StreamClosedError:
                self.refused.add(stream)
                continue
            size = min(window, SENT - sent, 1 << 20)
            while size > 0:
                chunk = min(size, self.conn.max_outbound_frame_size)
                self.conn.send_data(stream, b"x" * chunk)
                self.sent[stream] += chunk
                size -= chunk
                progressed = True
        self.flush()
        self.pump()
        return progressed

    def close(self) -> None:
        self.sock.close()


def rss_mib(pid: int) -> tuple[float, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    current = int(status.split("VmRSS:")[1].split()[0]) / 1024
    peak = int(status.split("VmHWM:")[1].split()[0]) / 1024
    return current, peak


@pytest.mark.parametrize("overlay", ["base", "overlays/dev"])  # prod's API is base's
def test_unfinished_messages_on_many_streams_stay_under_the_pods_limit(
    overlay: str, tmp_path: Path
) -> None:
    pods = overlay_pods(overlay)
    limit = pods["API"].memory_limit
    assert limit is not None
    secret = write_gateway_secret(tmp_path / "jwt")
    flags = command_of(pods["API"])[4:]  # after `python -m imagescaler api`
    with api_process(*flags, env=pod_environment(pods, secret)) as (address, api):
        pid = api.process.pid
        idle, _ = rss_mib(pid)
        port = int(address.rsplit(":", 1)[1])
        attackers = [Attacker(port, api_token(secret)) for _ in range(CONNECTIONS)]
        for attacker in attackers:
            attacker.open_streams(STREAMS_PER_CONNECTION)
        health: list[str] = []
        deadline = time.monotonic() + 20
        stalled_since = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - stalled_since < 2:
            if any([attacker.feed() for attacker in attackers]):
                stalled_since = time.monotonic()
            health.append(health_status_at(address, timeout=1.0))
        held = sum(s for a in attackers for st, s in a.sent.items() if st not in a.refused)
        opened = sum(len(a.sent) for a in attackers)
        refused = sum(len(a.refused) for a in attackers)
        during, peak = rss_mib(pid)
        for attacker in attackers:
            attacker.close()
        left = time.monotonic()
        wait_until(lambda: rss_mib(pid)[0] <= idle * 1.2 + KEPT_MIB, 30, "the memory handed back")
        back_in = time.monotonic() - left
        after, _ = rss_mib(pid)
    print(
        f"{opened} streams opened on {CONNECTIONS} connections, {refused} refused, "
        f"{held / MiB:.0f} MiB of unfinished messages accepted; API RSS idle {idle:.0f}, "
        f"during {during:.0f}, peak {peak:.0f} (limit {limit / MiB:.0f}), back to {after:.0f} "
        f"MiB {back_in:.1f} s after the attacker left"
    )
    assert set(health) == {"SERVING"}
    assert peak * MiB <= limit
