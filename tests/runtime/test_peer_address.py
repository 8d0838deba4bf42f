"""The client address that stream admission counts per client, from gRPC's peer strings."""

from __future__ import annotations

import pytest

from imagescaler.grpc_runtime.peers import peer_address


@pytest.mark.parametrize(
    ("peer", "address"),
    [
        ("ipv4:127.0.0.1:5555", "127.0.0.1"),
        ("ipv6:[::1]:5555", "::1"),
        ("ipv6:%5B::1%5D:5555", "::1"),  # as gRPC Python gives it
        ("ipv6:%5B2001:db8::7%5D:443", "2001:db8::7"),
        ("unix:/run/x.sock", "unix:/run/x.sock"),
    ],
)
def test_the_port_is_left_out_and_ipv6_decoded(peer: str, address: str) -> None:
    assert peer_address(peer) == address
